// Adaptive pools, peak-ewma and slow start, through routing::Router against
// in-process backends whose speed the tests set (TestBackend's slowness).
#include <routing/router.h>

#include "support/eventually.h"
#include "support/test_backend.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace routing::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

RouterOptions options_for(const std::vector<TestBackend*>& backends) {
  RouterOptions options;
  options.discovery = static_url(backends);
  options.health_check_interval = 0ms;
  options.adaptive_interval = 50ms;
  return options;
}

// `threads` callers, each making tracked calls ("<ms>:x") one after another
// for `duration`; returns how many failed.
int hammer(Router& router, int threads, Clock::duration duration, const std::string& payload) {
  std::atomic<int> failed{0};
  const auto until = Clock::now() + duration;
  std::vector<std::thread> callers;
  for (int t = 0; t < threads; ++t) {
    callers.emplace_back([&] {
      while (Clock::now() < until) {
        if (!router.call("echo", tracked_procedure, payload).ok()) ++failed;
      }
    });
  }
  for (auto& caller : callers) caller.join();
  return failed;
}

const SystemStats& echo_stats(const RouterStats& stats) {
  EXPECT_EQ(stats.systems.size(), 1u);
  return stats.systems.at(0);
}

// 32 callers of 20 ms calls need 32 in flight; a fixed pool of 2 holds them
// to 2 (100 calls/s); the adaptive one grows to what the load needs.
TEST(AdaptivePool, GrowsToTheConcurrencyTheLoadNeeds) {
  TestBackend backend;
  auto options = options_for({&backend});
  options.pool_size = 2;  // the starting limit
  options.adaptive_pool = true;
  Router router(options);
  EXPECT_EQ(hammer(router, 32, 1500ms, "20:x"), 0);
  EXPECT_GE(backend.max_in_flight(), 24u);
  auto stats = router.stats();
  const auto& system = echo_stats(stats);
  EXPECT_TRUE(system.adaptive_pool);
  EXPECT_GE(system.pool_size, 24u);
  EXPECT_GE(system.backends.at(0).limit, 24u);
  EXPECT_GT(system.backends.at(0).arrival_rate, 0);
  EXPECT_GT(system.backends.at(0).min_latency_seconds, 0.015);
}

// The limit moves every window; connections must not follow each dip (a
// first version closed and reopened about one connection per 25 calls). The
// calls are coroutines, so they run on the router's loops, each with its own
// idle connections (blocking calls share one pool).
TEST(AdaptivePool, SteadyLoadReusesItsConnections) {
  TestBackend a, b, c;
  c.set_slowness(0.5);
  auto options = options_for({&a, &b, &c});
  options.adaptive_pool = true;
  options.threads = 2;
  options.strategy = "pick-2";
  Router router(options);
  asio::io_context ctx;
  const auto until = Clock::now() + 2s;
  int failed = 0;
  for (int i = 0; i < 32; ++i) {
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
      while (Clock::now() < until) {
        auto reply = co_await router.async_call("echo", tracked_procedure, "2:x");
        if (!reply.ok()) ++failed;
      }
    }, asio::detached);
  }
  ctx.run();
  EXPECT_EQ(failed, 0);
  auto opened = a.accepted() + b.accepted() + c.accepted();
  auto served = a.served() + b.served() + c.served();
  EXPECT_GT(served, 2000u);
  EXPECT_LT(opened, 100u) << opened << " connections for " << served << " calls";
}

TEST(AdaptivePool, AFixedPoolStaysFixed) {
  TestBackend backend;
  auto options = options_for({&backend});
  options.pool_size = 2;
  Router router(options);
  EXPECT_EQ(hammer(router, 8, 500ms, "20:x"), 0);
  EXPECT_LE(backend.max_in_flight(), 2u);
  auto stats = router.stats();
  EXPECT_FALSE(echo_stats(stats).adaptive_pool);
  EXPECT_EQ(echo_stats(stats).pool_size, 2u);
  EXPECT_EQ(echo_stats(stats).backends.at(0).limit, 0u);
}

// Round-robin alone alternates, whatever the backends' speed. When one
// backend slows down (its latency climbs far above its measured minimum: it
// is queueing), the latency guard cuts its limit, and calls that find it
// full go to the other backend. (A backend slow from the start is not
// queueing: its limit follows Little's Law like any other; steering calls
// by speed is what peak-ewma is for.)
TEST(AdaptivePool, SendsFewerCallsToABackendThatSlowsDown) {
  TestBackend steady, slowing;
  auto options = options_for({&steady, &slowing});
  options.pool_size = 4;
  options.adaptive_pool = true;
  Router router(options);
  EXPECT_EQ(hammer(router, 16, 1000ms, "4:x"), 0);
  auto steady_before = steady.served(), slowing_before = slowing.served();
  slowing.set_slowness(10);
  EXPECT_EQ(hammer(router, 16, 2000ms, "4:x"), 0);
  auto steady_after = steady.served() - steady_before, slowing_after = slowing.served() - slowing_before;
  EXPECT_GT(steady_after, 3 * slowing_after) << steady_after << " vs " << slowing_after;
  auto stats = router.stats();
  for (const auto& backend : echo_stats(stats).backends) {
    if (backend.address != slowing.address()) continue;
    EXPECT_TRUE(backend.queueing);
    EXPECT_LE(backend.limit, 4u);
    EXPECT_GT(backend.latency_seconds, 2 * backend.min_latency_seconds);
  }
}

TEST(PeakEwma, FavoursTheFasterBackend) {
  TestBackend fast, slow;
  slow.set_slowness(5);
  auto options = options_for({&fast, &slow});
  options.pool_size = 64;
  options.strategy = "peak-ewma";
  Router router(options);
  EXPECT_EQ(hammer(router, 8, 1500ms, "4:x"), 0);
  EXPECT_GT(fast.served(), 2 * slow.served()) << fast.served() << " vs " << slow.served();
  EXPECT_EQ(echo_stats(router.stats()).strategy, "peak-ewma");
}

// A backend that failed its health checks and passes them again ramps up.
TEST(SlowStart, ABackendBackFromFailedHealthChecksRampsUp) {
  TestBackend a, b;
  auto options = options_for({&a, &b});
  options.health_check_interval = 50ms;
  options.unhealthy_after = 2;
  options.slow_start = 60s;
  Router router(options);
  ASSERT_TRUE(router.call("echo", 1, "x").ok());
  auto backend_of = [&](const std::string& address) {
    auto stats = router.stats();
    for (const auto& backend : echo_stats(stats).backends) {
      if (backend.address == address) return backend;
    }
    return BackendStats{};
  };
  EXPECT_EQ(backend_of(a.address()).slow_start_share, 1.0);
  auto port = a.port();
  a.kill();
  EXPECT_TRUE(eventually([&] { return !backend_of(a.address()).healthy; }, 3s));
  a.start(port);
  EXPECT_TRUE(eventually([&] { return backend_of(a.address()).healthy; }, 3s));
  auto share = backend_of(a.address()).slow_start_share;
  EXPECT_GE(share, 0.1);
  EXPECT_LT(share, 0.2);
  EXPECT_EQ(backend_of(b.address()).slow_start_share, 1.0);
}

}  // namespace
}  // namespace routing::test
