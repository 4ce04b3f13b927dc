// System::pick over real backend sets: slow start (a backend that joins a
// serving system, or whose ejection ends, gets a share of picks ramping from
// 10% to its full share; the first backend set serves at once), and
// peak-ewma's two choices.
#include "routing/system.h"

#include "common/log.h"

#include <gtest/gtest.h>

#include <atomic>
#include <map>
#include <thread>

namespace routing::core {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// Picks `n` times; address -> picks.
std::map<std::string, int> picks(System& system, int n) {
  std::map<std::string, int> seen;
  auto list = system.backends();
  for (int i = 0; i < n; ++i) ++seen[system.pick(*list, {})->address];
  return seen;
}

RouterOptions with_slow_start(std::chrono::milliseconds window) {
  RouterOptions options;
  options.discovery = "static://echo=127.0.0.1:1";
  options.slow_start = window;
  return options;
}

TEST(SlowStart, AJoiningBackendRampsUpWhileTheFirstSetServesAtOnce) {
  auto options = with_slow_start(60s);
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  system.set_backends({"127.0.0.1:1", "127.0.0.1:2"});
  auto first = picks(system, 1000);
  EXPECT_EQ(first["127.0.0.1:1"], 500);  // the first set: plain round-robin
  system.set_backends({"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"});
  auto ramping = picks(system, 3000);
  // At the start of its ramp the newcomer takes part in 10% of the picks
  // (and wins a third of those): about 100 of 3000, not 1000.
  EXPECT_GT(ramping["127.0.0.1:3"], 30);
  EXPECT_LT(ramping["127.0.0.1:3"], 250);
  auto stats = system.stats();
  EXPECT_NEAR(stats.backends.at(2).slow_start_share, 0.1, 0.01);
  EXPECT_EQ(stats.backends.at(0).slow_start_share, 1.0);
}

TEST(SlowStart, AJoiningBackendGetsItsFullShareAfterTheWindow) {
  auto options = with_slow_start(100ms);
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  system.set_backends({"127.0.0.1:1"});
  system.set_backends({"127.0.0.1:1", "127.0.0.1:2"});
  std::this_thread::sleep_for(150ms);
  EXPECT_EQ(picks(system, 1000)["127.0.0.1:2"], 500);
}

// Every candidate ramping (the old set replaced by new backends): each pick
// still returns one of them, and both get calls.
TEST(SlowStart, WhenEveryBackendRampsEachPickStillFindsOne) {
  auto options = with_slow_start(60s);
  LiveOptions live{options};
  System system("echo", live, Strategy::random);
  system.set_backends({"127.0.0.1:1"});
  system.set_backends({"127.0.0.1:2", "127.0.0.1:3"});
  auto seen = picks(system, 2000);
  EXPECT_EQ(seen["127.0.0.1:2"] + seen["127.0.0.1:3"], 2000);
  EXPECT_GT(seen["127.0.0.1:2"], 500);
  EXPECT_GT(seen["127.0.0.1:3"], 500);
}

TEST(SlowStart, OffByDefault) {
  RouterOptions options;
  options.discovery = "static://echo=127.0.0.1:1";
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  system.set_backends({"127.0.0.1:1"});
  system.set_backends({"127.0.0.1:1", "127.0.0.1:2"});
  EXPECT_EQ(picks(system, 1000)["127.0.0.1:2"], 500);
}

TEST(SlowStart, ABackendRampsUpWhenItsEjectionEnds) {
  auto options = with_slow_start(60s);
  options.eject_after = 1;
  options.base_ejection_time = System::failed_recently + 50ms;  // past the pass-over of a failure
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  system.set_backends({"127.0.0.1:1", "127.0.0.1:2"});
  auto list = system.backends();
  system.record_failure(*list->backends[1]);
  EXPECT_EQ(picks(system, 100)["127.0.0.1:2"], 0);  // ejected
  std::this_thread::sleep_for(options.base_ejection_time + 30ms);
  auto back = picks(system, 2000)["127.0.0.1:2"];
  EXPECT_GT(back, 20);   // about 10% × half of 2000 = 100
  EXPECT_LT(back, 300);  // not 1000
}

// peak-ewma draws its two choices before weighing them: the slowest of three
// never wins its pair, and the other two share the calls.
TEST(PeakEwmaPick, TheSlowestOfThreeIsNeverPicked) {
  RouterOptions options;
  options.discovery = "static://echo=127.0.0.1:1";
  LiveOptions live{options};
  System system("echo", live, Strategy::peak_ewma);
  system.set_backends({"127.0.0.1:1", "127.0.0.1:2", "127.0.0.1:3"});
  auto list = system.backends();
  auto now = Clock::now().time_since_epoch();
  list->backends[0]->peak_latency.observe(1ms, now, options.peak_ewma_decay);
  list->backends[1]->peak_latency.observe(50ms, now, options.peak_ewma_decay);
  list->backends[2]->peak_latency.observe(2ms, now, options.peak_ewma_decay);
  auto seen = picks(system, 3000);
  EXPECT_EQ(seen.count("127.0.0.1:2"), 0u);
  EXPECT_GT(seen["127.0.0.1:1"], 1500);  // wins both pairs it is in: 2 of 3 picks
  EXPECT_GT(seen["127.0.0.1:3"], 700);   // wins against the slowest: 1 of 3
}

// A backend whose attempt just failed may be dying with its sockets still
// taking requests: picks pass it over for System::failed_recently while
// another is there, and only then.
TEST(RecentFailure, ABackendWhoseAttemptJustFailedIsPassedOverForAMoment) {
  RouterOptions options;
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  system.set_backends({"127.0.0.1:1", "127.0.0.1:2"});
  auto list = system.backends();
  system.record_failure(*list->backends[1]);
  const auto now = Clock::now();
  int picked_failed = 0;
  for (int i = 0; i < 100; ++i) picked_failed += system.pick(*list, {}, now).get() == list->backends[1].get();
  EXPECT_EQ(picked_failed, 0);
  // Every other one failed too: no preference, round-robin again.
  system.record_failure(*list->backends[0]);
  EXPECT_EQ(picks(system, 100)["127.0.0.1:2"], 50);
  // The moment past, it takes its share again.
  const auto later = Clock::now() + System::failed_recently + 1ms;
  picked_failed = 0;
  for (int i = 0; i < 100; ++i) picked_failed += system.pick(*list, {}, later).get() == list->backends[1].get();
  EXPECT_EQ(picked_failed, 50);
}

// Adaptive pools: the connections a system may keep follow its limit's peak
// down slowly, so that a dip of the limit closes no connection, and a
// lasting fall does (once the peak has decayed, by at least one a window).
TEST(AdaptiveConnections, TheBoundFollowsTheLimitsPeakDownSlowly) {
  RouterOptions options;
  options.discovery = "static://echo=127.0.0.1:1";
  options.adaptive_pool = true;
  options.pool_size = 30;
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  system.set_backends({"127.0.0.1:1"});
  ASSERT_EQ(system.limiter.limit(), 30u);
  EXPECT_EQ(system.connection_limit(), 60u);
  options.adaptive_max_pool = 1;  // the limit falls to 1 at the next window
  live.replace(options);
  const auto now = Clock::now();
  system.update_limits(100ms, now);
  ASSERT_EQ(system.limiter.limit(), 1u);
  EXPECT_GE(system.connection_limit(), 59u);  // a dip: the connections stay
  for (int window = 0; window < 100; ++window) system.update_limits(100ms, now);
  EXPECT_EQ(system.connection_limit(), 2u);  // a lasting fall: twice the limit
  options.adaptive_max_pool = 1000;
  live.replace(options);
  system.update_limits(100ms, now);
  EXPECT_EQ(system.connection_limit(), 60u);  // a rise counts at once
}

}  // namespace
}  // namespace routing::core

namespace routing::core {
namespace {

// A new backend set keeps the backends that stay (the same objects: their
// connections and figures go on), makes the ones that join, marks the ones
// that leave removed, and comes out sorted by address, each once, whatever
// order a custom resolver listed them in.
TEST(BackendSet, AChangeKeepsWhoStaysMakesWhoJoinsAndMarksWhoLeaves) {
  RouterOptions options;
  options.discovery = "static://echo=127.0.0.1:1";
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  system.set_backends({"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "10.0.0.5:1"});
  const auto before = system.backends();
  discovery::AddressSet next;
  next.addresses = {"10.0.0.4:1", "10.0.0.1:1", "10.0.0.5:1", "10.0.0.4:1", "10.0.0.0:1"};  // unsorted, twice
  system.set_backends(next);
  const auto after = system.backends();
  std::vector<std::string> addresses;
  for (const auto& backend : after->backends) addresses.push_back(backend->address);
  EXPECT_EQ(addresses, (std::vector<std::string>{"10.0.0.0:1", "10.0.0.1:1", "10.0.0.4:1", "10.0.0.5:1"}));
  EXPECT_EQ(after->backends[1], before->backends[0]);  // 10.0.0.1 stayed
  EXPECT_EQ(after->backends[3], before->backends[3]);  // 10.0.0.5 stayed
  EXPECT_FALSE(before->backends[0]->removed);
  EXPECT_TRUE(before->backends[1]->removed);  // 10.0.0.2 left
  EXPECT_TRUE(before->backends[2]->removed);  // 10.0.0.3 left
  EXPECT_FALSE(before->backends[3]->removed);
  EXPECT_FALSE(after->backends[0]->removed);
  EXPECT_FALSE(after->backends[2]->removed);
}

}  // namespace
}  // namespace routing::core

namespace routing::core {
namespace {

// Figures read while discovery replaces the set (routerd's /metrics during
// churn): the reader holds the list it walks. It walked a list only a
// temporary held, which a set published meanwhile freed under it (routerd
// crashed; ASan names the use after free here).
TEST(BackendSet, FiguresReadWhileSetsChangeWalkAListTheyHold) {
  RouterOptions options;
  options.discovery = "static://echo=127.0.0.1:1";
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  std::vector<std::string> even, odd;
  for (int i = 0; i < 400; ++i) (i % 2 ? odd : even).push_back("10.0." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":1");
  system.set_backends(even);
  std::atomic<bool> done{false};
  std::thread publisher([&] {
    common::log().set_level(spdlog::level::warn);
    for (int i = 0; i < 2000; ++i) system.set_backends(i % 2 ? even : odd);
    done = true;
  });
  std::size_t reads = 0;
  while (!done) {
    EXPECT_EQ(system.stats().backends.size(), 200u);
    ++reads;
  }
  publisher.join();
  common::log().set_level(spdlog::level::info);
  EXPECT_GT(reads, 0u);
}

}  // namespace
}  // namespace routing::core
