// RouterCore::reconfigure (routerd's SIGHUP): new settings reach systems
// already routing, calls keep flowing, and what needs a restart keeps its value.
#include "support/core_on_loop.h"
#include "support/eventually.h"
#include "support/ports.h"
#include "support/test_backend.h"

#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

SystemStats echo_stats(core::RouterCore& core) { return core.stats().systems.at(0); }

TEST(Reconfigure, PoolSizeAndMaxPendingReachASystemAlreadyRouting) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.pool_size = 8;
  CoreOnAStoppableLoop router(options);
  auto& core = router.core();
  ASSERT_TRUE(core.call_blocking("echo", 1, "x", {}).reply.ok());
  auto next = options;
  next.pool_size = 2;
  next.max_pending = 1;
  core.reconfigure(next);
  EXPECT_EQ(echo_stats(core).pool_size, 2u);
  EXPECT_EQ(echo_stats(core).max_pending, 1u);
  // Three slow calls: two run, one waits; a fourth is refused (8).
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < 3; ++i) {
    callers.emplace_back([&] { ok += core.call_blocking("echo", tracked_procedure, "1000:x", {}).reply.ok(); });
  }
  ASSERT_TRUE(eventually([&] { return echo_stats(core).in_flight == 2 && echo_stats(core).waiting == 1; }, 5000ms));
  EXPECT_EQ(core.call_blocking("echo", 1, "x", {}).reply.status, Status::resource_exhausted);
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(ok.load(), 3);
  EXPECT_LE(backend.max_in_flight(), 2u);
}

TEST(Reconfigure, KeepsWhatNeedsARestartAndRefusesBadSettingsChangingNothing) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  CoreOnAStoppableLoop router(options);
  auto& core = router.core();
  ASSERT_TRUE(core.call_blocking("echo", 1, "x", {}).reply.ok());
  auto next = options;
  next.discovery = "rpc://127.0.0.1:1";
  next.adaptive_pool = true;
  next.strategy = "pick-2";
  next.request_timeout = 1234ms;
  core.reconfigure(next);
  EXPECT_EQ(core.options().discovery, options.discovery);
  EXPECT_FALSE(core.options().adaptive_pool);
  EXPECT_EQ(core.options().request_timeout, 1234ms);
  EXPECT_EQ(echo_stats(core).strategy, "pick-2");  // a system already routing follows

  // Fixed to adaptive ("auto" leaves pool_size at its default) needs a
  // restart: neither the mode nor the size changes.
  auto to_auto = core.options();
  to_auto.adaptive_pool = true;
  to_auto.pool_size = 3;
  core.reconfigure(to_auto);
  EXPECT_FALSE(core.options().adaptive_pool);
  EXPECT_EQ(echo_stats(core).pool_size, options.pool_size);

  auto bad = options;
  bad.pool_size = 0;
  EXPECT_THROW(core.reconfigure(bad), std::invalid_argument);
  EXPECT_EQ(core.options().request_timeout, 1234ms);
  EXPECT_EQ(core.options().pool_size, options.pool_size);
  EXPECT_TRUE(core.call_blocking("echo", 1, "x", {}).reply.ok());
}

// The checks' loops wake on a reload: turned off, what they took out comes
// back; turned on again, they check again.
TEST(Reconfigure, HealthChecksTurnOffAndOnWhileRunning) {
  TestBackend live;
  const auto dead = "127.0.0.1:" + std::to_string(free_port());
  auto options = quiet_options("static://echo=" + live.address() + "," + dead);
  options.health_check_interval = 50ms;
  options.unhealthy_after = 1;
  options.eject_after = 1000;  // only the checks take the dead one out
  CoreOnAStoppableLoop router(options);
  auto& core = router.core();
  ASSERT_TRUE(core.call_blocking("echo", 1, "x", {}).reply.ok());
  auto dead_healthy = [&] {
    for (const auto& b : echo_stats(core).backends) {
      if (b.address == dead) return b.healthy;
    }
    return true;
  };
  ASSERT_TRUE(eventually([&] { return !dead_healthy(); }, 3000ms));
  auto off = options;
  off.health_check = "off";
  core.reconfigure(off);
  EXPECT_TRUE(eventually([&] { return dead_healthy(); }, 3000ms));
  core.reconfigure(options);
  EXPECT_TRUE(eventually([&] { return !dead_healthy(); }, 3000ms));
}

// Calls in flight across many reloads: none fails.
TEST(Reconfigure, CallsFlowWhileSettingsChange) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  CoreOnAStoppableLoop router(options);
  auto& core = router.core();
  std::atomic<bool> done{false};
  std::atomic<int> failed{0}, ok{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&] {
      while (!done) (core.call_blocking("echo", tracked_procedure, "1:x", {}).reply.ok() ? ok : failed)++;
    });
  }
  for (int i = 0; i < 50; ++i) {
    auto next = options;
    next.pool_size = 1 + i % 5;
    next.strategy = i % 2 ? "least-connections" : "round-robin";
    next.connect_timeout = std::chrono::milliseconds(500 + i);
    core.reconfigure(next);
    std::this_thread::sleep_for(5ms);
  }
  done = true;
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_GT(ok.load(), 50);
}

}  // namespace
}  // namespace routing::test
