// SystemRegistry: systems by name, created once, strategies for one or all,
// forgetting systems that have no instances and no calls, names remembered
// as unknown, and the cap on systems; UnknownNames on its own.
#include "routing/system_registry.h"

#include <gtest/gtest.h>

#include <thread>

namespace routing::core {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

RouterOptions retention(std::chrono::milliseconds keep) {
  RouterOptions options;
  options.unused_system_retention = keep;
  return options;
}

TEST(SystemRegistry, CreatesASystemOnce) {
  RouterOptions options;
  LiveOptions live{options};
  SystemRegistry registry(live, Strategy::round_robin);
  auto first = registry.find_or_create("echo");
  EXPECT_EQ(registry.find_or_create("echo"), first);
  EXPECT_EQ(registry.find_or_create_cached("echo"), first);
  EXPECT_EQ(registry.find_or_create_cached("echo"), first);  // from this thread's cache
  EXPECT_NE(registry.find_or_create_cached("kv"), first);
  EXPECT_EQ(registry.all().size(), 2u);
  EXPECT_EQ(registry.counts().systems, 2u);
}

TEST(SystemRegistry, SetsTheStrategyOfOneSystemOrOfAllAndNewOnes) {
  RouterOptions options;
  LiveOptions live{options};
  SystemRegistry registry(live, Strategy::round_robin);
  auto echo = registry.find_or_create("echo");
  EXPECT_TRUE(registry.set_strategy("pick-2", std::string("echo")));
  EXPECT_EQ(echo->strategy(), Strategy::pick_two);
  EXPECT_TRUE(echo->strategy_pinned());
  EXPECT_FALSE(registry.set_strategy("fastest", std::nullopt));
  EXPECT_TRUE(registry.set_strategy("random", std::nullopt));
  EXPECT_EQ(echo->strategy(), Strategy::random);
  EXPECT_FALSE(echo->strategy_pinned());
  EXPECT_EQ(registry.find_or_create("later")->strategy(), Strategy::random);
}

TEST(SystemRegistry, ForgetsSystemsWithoutInstancesThatNobodyCalls) {
  auto options = retention(50ms);
  LiveOptions live{options};
  SystemRegistry registry(live, Strategy::round_robin);
  auto ghost = registry.find_or_create("ghost");
  auto echo = registry.find_or_create("echo");
  echo->set_backends({"127.0.0.1:1"});
  registry.sweep(Clock::now() + 1s);
  EXPECT_TRUE(ghost->retired());
  EXPECT_FALSE(echo->retired());  // it has an instance
  ASSERT_EQ(registry.all().size(), 1u);
  // A name forgotten is a new system when called again (a retired one is
  // never handed out, not even from a thread's cache).
  auto again = registry.find_or_create_cached("ghost");
  EXPECT_NE(again, ghost);
  EXPECT_FALSE(again->retired());
}

// The sweep visits the systems that may be due (an empty set, a grace
// ending), not every system it knows: those with instances cost it nothing.
TEST(SystemRegistry, TheSweepVisitsOnlySystemsThatMayBeForgotten) {
  auto options = retention(50ms);
  LiveOptions live{options};
  SystemRegistry registry(live, Strategy::round_robin);
  std::vector<std::shared_ptr<System>> serving;
  for (int i = 0; i < 100; ++i) {
    serving.push_back(registry.find_or_create("s" + std::to_string(i)));
    serving.back()->set_backends({"127.0.0.1:1"});
  }
  EXPECT_EQ(registry.counts().sweep_agenda, 100u);  // each new one, in case it never gets an instance
  registry.sweep(Clock::now() + 1s);
  EXPECT_EQ(registry.counts().sweep_agenda, 0u);  // they have instances: off the agenda
  EXPECT_EQ(registry.counts().systems, 100u);
  // One loses its instances: held back for the grace, then applied, then forgotten.
  serving[7]->set_backends(std::vector<std::string>{});
  EXPECT_EQ(registry.counts().sweep_agenda, 1u);
  registry.sweep(Clock::now() + 1s);  // within the grace (5 s)
  EXPECT_FALSE(serving[7]->retired());
  EXPECT_EQ(serving[7]->backends()->backends.size(), 1u);
  registry.sweep(Clock::now() + options.empty_discovery_grace + 1s);
  EXPECT_TRUE(serving[7]->retired());
  EXPECT_EQ(registry.counts().systems, 99u);
  EXPECT_EQ(registry.counts().sweep_agenda, 0u);
}

// A system without instances that is still called is looked at again once
// its retention has passed since its last call, and forgotten only then.
TEST(SystemRegistry, AnEmptySystemStillCalledIsKeptAndLookedAtAgain) {
  auto options = retention(50ms);
  options.empty_discovery_grace = 0ms;
  LiveOptions live{options};
  SystemRegistry registry(live, Strategy::round_robin);
  auto echo = registry.find_or_create("echo");
  echo->set_backends({"127.0.0.1:1"});
  echo->set_backends(std::vector<std::string>{});
  std::this_thread::sleep_for(150ms);
  echo->touch();  // called just now
  registry.sweep(Clock::now());
  EXPECT_FALSE(echo->retired());
  EXPECT_EQ(registry.counts().sweep_agenda, 1u);
  registry.sweep(Clock::now() + 100ms);
  EXPECT_TRUE(echo->retired());
}

TEST(SystemRegistry, ANameDiscoveryDidNotKnowIsAnswered5UntilItsTtlPasses) {
  RouterOptions options;
  options.unknown_name_ttl = 100ms;
  LiveOptions live{options};
  SystemRegistry registry(live, Strategy::round_robin);
  auto ghost = registry.find_or_create_cached("ghost");
  ASSERT_TRUE(ghost);
  registry.forget_unknown(ghost);
  EXPECT_TRUE(ghost->retired());
  EXPECT_EQ(registry.counts().systems, 0u);
  EXPECT_EQ(registry.counts().unknown_names, 1u);
  Reply refusal;
  EXPECT_EQ(registry.find_or_create_cached("ghost", &refusal), nullptr);
  EXPECT_EQ(refusal.status, Status::not_found);
  EXPECT_EQ(refusal.payload, "no instances of 'ghost'");
  // Asked again once the ttl has passed.
  std::this_thread::sleep_for(150ms);
  auto again = registry.find_or_create("ghost");
  ASSERT_TRUE(again);
  EXPECT_NE(again, ghost);
  EXPECT_EQ(registry.counts().unknown_names, 0u);
}

TEST(SystemRegistry, AnOperatorsStrategyForAnUnknownNameCreatesIt) {
  RouterOptions options;
  LiveOptions live{options};
  SystemRegistry registry(live, Strategy::round_robin);
  registry.forget_unknown(registry.find_or_create("later"));
  EXPECT_TRUE(registry.set_strategy("pick-2", std::string("later")));
  auto later = registry.find_or_create("later");
  ASSERT_TRUE(later);
  EXPECT_EQ(later->strategy(), Strategy::pick_two);
}

TEST(SystemRegistry, NewSystemsPastTheCapAreRefusedWith8) {
  RouterOptions options;
  options.max_systems = 2;
  LiveOptions live{options};
  SystemRegistry registry(live, Strategy::round_robin);
  ASSERT_TRUE(registry.find_or_create("a"));
  ASSERT_TRUE(registry.find_or_create("b"));
  Reply refusal;
  EXPECT_EQ(registry.find_or_create("c", &refusal), nullptr);
  EXPECT_EQ(refusal.status, Status::resource_exhausted);
  EXPECT_TRUE(registry.find_or_create("a"));  // known ones still served
  EXPECT_EQ(registry.counts().refused, 1u);
  registry.forget_unknown(registry.find_or_create("b"));  // one leaves: room again
  EXPECT_TRUE(registry.find_or_create("c"));
}

// An operator's drain made before a system's first call makes the system,
// counts against max_systems, and keeps it past the unused retention.
TEST(SystemRegistry, ADrainKeepsItsSystemAndCountsAgainstTheCap) {
  auto options = retention(50ms);
  options.max_systems = 2;
  LiveOptions live{options};
  SystemRegistry registry(live, Strategy::round_robin);
  ASSERT_EQ(registry.set_drained("echo", "127.0.0.1:1", true), System::DrainResult::not_listed);
  ASSERT_TRUE(registry.find_or_create("kv"));
  EXPECT_EQ(registry.set_drained("third", "127.0.0.1:1", true), std::nullopt) << "past max_systems";
  EXPECT_EQ(registry.set_drained("never-made", "127.0.0.1:1", false), System::DrainResult::not_listed);
  EXPECT_EQ(registry.counts().systems, 2u) << "an undrain makes nothing";
  registry.sweep(Clock::now() + 1s);
  auto echo = registry.find_or_create("echo");
  EXPECT_FALSE(echo->retired()) << "a drained system is not forgotten";
  EXPECT_EQ(echo->drained_addresses(), std::vector<std::string>{"127.0.0.1:1"});
  EXPECT_EQ(registry.counts().systems, 1u) << "kv, unused, was forgotten";
  echo->set_drained("127.0.0.1:1", false);
  registry.sweep(Clock::now() + 2s);
  EXPECT_TRUE(echo->retired()) << "undrained, it is forgotten as usual";
}

// Passive ejection counts a missed deadline only when another backend of the
// system answered meanwhile: then this one is the outlier; when none did, the
// whole system is slow and ejecting would only load the rest more.
TEST(System, AMissedDeadlineCountsTowardEjectionOnlyWhenOthersAnswered) {
  RouterOptions options;
  options.eject_after = 1;
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  system.set_backends({"127.0.0.1:1", "127.0.0.1:2"});
  auto list = system.backends();
  Backend& slow = *list->backends[0];
  Backend& other = *list->backends[1];
  auto sent = Clock::now();
  system.record_missed_deadline(slow, sent, sent, sent + 1s);
  EXPECT_FALSE(slow.ejected(Clock::now()));
  system.record_success(other, sent + 1ms);
  system.record_missed_deadline(slow, sent, sent, sent + 1s);
  EXPECT_TRUE(slow.ejected(Clock::now()));
}

// A call sent with less than half its time left (it waited long in the
// queue) misses its deadline by no fault of the backend's: overload must
// not eject healthy backends (seen before: under twice the capacity,
// routerd ejected a backend three times in four seconds).
TEST(System, AMissedDeadlineWithoutAFairChanceIsNotTheBackendsFault) {
  RouterOptions options;
  options.eject_after = 1;
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  system.set_backends({"127.0.0.1:1", "127.0.0.1:2"});
  auto list = system.backends();
  Backend& slow = *list->backends[0];
  auto arrival = Clock::now();
  system.record_success(*list->backends[1], arrival + 160ms);  // answered after both were sent
  system.record_missed_deadline(slow, arrival, arrival + 150ms, arrival + 200ms);
  EXPECT_FALSE(slow.ejected(Clock::now()));
  system.record_missed_deadline(slow, arrival, arrival + 100ms, arrival + 200ms);
  EXPECT_TRUE(slow.ejected(Clock::now()));
}


TEST(UnknownNames, KeepsAtMostItsCapacityForgettingTheOldestFirst) {
  UnknownNames names(10s, 3);
  auto now = Clock::now();
  for (auto name : {"a", "b", "c", "d"}) names.add(name, now);
  EXPECT_EQ(names.size(), 3u);
  EXPECT_EQ(names.evicted(), 1u);
  EXPECT_FALSE(names.contains("a", now));
  EXPECT_TRUE(names.contains("b", now));
  EXPECT_TRUE(names.contains("d", now));
  names.add("b", now + 1s);  // again: now the newest
  names.add("e", now + 1s);
  EXPECT_TRUE(names.contains("b", now + 1s));
  EXPECT_FALSE(names.contains("c", now + 1s));
}

TEST(UnknownNames, ForgetsANameWhenItsTtlPasses) {
  UnknownNames names(100ms, 10);
  auto now = Clock::now();
  names.add("a", now);
  names.add("b", now + 50ms);
  EXPECT_TRUE(names.contains("a", now + 99ms));
  EXPECT_FALSE(names.contains("a", now + 100ms));
  EXPECT_TRUE(names.contains("b", now + 100ms));
  EXPECT_EQ(names.size(), 1u);
  UnknownNames none(0ms, 10);  // ttl 0: never remembered
  none.add("a", now);
  EXPECT_FALSE(none.contains("a", now));
}

}  // namespace
}  // namespace routing::core
