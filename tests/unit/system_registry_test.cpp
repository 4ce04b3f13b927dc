// SystemRegistry: systems by name, created once (with the creation hook run
// outside the lock), strategies for one or all, and forgetting systems that
// have no instances and no calls.
#include "routing/system_registry.h"

#include <gtest/gtest.h>

namespace routing::core {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

RouterOptions retention(std::chrono::milliseconds keep) {
  RouterOptions options;
  options.unused_system_retention = keep;
  return options;
}

TEST(SystemRegistry, CreatesASystemOnceAndRunsTheHookForIt) {
  RouterOptions options;
  int created = 0;
  SystemRegistry registry(options, Strategy::round_robin, [&](const std::shared_ptr<System>&) { ++created; });
  auto first = registry.find_or_create("echo");
  EXPECT_EQ(registry.find_or_create("echo"), first);
  EXPECT_EQ(registry.find_or_create_cached("echo"), first);
  EXPECT_EQ(registry.find_or_create_cached("echo"), first);  // from this thread's cache
  EXPECT_NE(registry.find_or_create_cached("kv"), first);
  EXPECT_EQ(created, 2);
  EXPECT_EQ(registry.all().size(), 2u);
}

TEST(SystemRegistry, SetsTheStrategyOfOneSystemOrOfAllAndNewOnes) {
  RouterOptions options;
  SystemRegistry registry(options, Strategy::round_robin, [](const std::shared_ptr<System>&) {});
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
  SystemRegistry registry(options, Strategy::round_robin, [](const std::shared_ptr<System>&) {});
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

}  // namespace
}  // namespace routing::core
