// The aperture through routing::Router against in-process backends: a
// system with many more backends than its pool keeps reusing a few
// connections, and health checks ping only the backends it may call.
#include <routing/router.h>

#include "support/eventually.h"
#include "support/test_backend.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <memory>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Fleet {
  explicit Fleet(int n) {
    for (int i = 0; i < n; ++i) backends.push_back(std::make_unique<TestBackend>());
  }
  std::vector<TestBackend*> all() const {
    std::vector<TestBackend*> raw;
    for (const auto& backend : backends) raw.push_back(backend.get());
    return raw;
  }
  std::uint64_t accepted() const {
    std::uint64_t total = 0;
    for (const auto& backend : backends) total += backend->accepted();
    return total;
  }
  int touched() const {
    int n = 0;
    for (const auto& backend : backends) n += backend->accepted() > 0;
    return n;
  }
  // A router over the fleet with this pool size and check interval.
  RouterOptions options(std::size_t pool_size, std::chrono::milliseconds check_interval) const {
    RouterOptions options;
    options.discovery = static_url(all());
    options.pool_size = pool_size;
    options.health_check_interval = check_interval;
    return options;
  }
  std::vector<std::unique_ptr<TestBackend>> backends;
};

// Without the aperture, 4 callers spread over 24 backends with a pool of 4
// connect on almost every call (hundreds of connections).
TEST(ApertureRouter, ManyBackendsBehindASmallPoolReuseItsConnections) {
  Fleet fleet(24);
  Router router(fleet.options(4, 0ms));
  std::atomic<int> failed{0}, calls{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      for (int i = 0; i < 300; ++i) {
        if (!router.call("echo", 1, "x").ok()) ++failed;
        ++calls;
      }
    });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(failed, 0);
  EXPECT_LE(fleet.touched(), 4);
  // Pick and take are not one step: two callers may pick the same backend's
  // one spare connection, and the second connects. Without the aperture: ~1,200.
  EXPECT_LE(fleet.accepted(), 24u) << "of " << calls << " calls";
}

TEST(ApertureRouter, HealthChecksPingOnlyTheBackendsInTheAperture) {
  Fleet fleet(12);
  Router router(fleet.options(2, 20ms));
  ASSERT_TRUE(router.call("echo", 1, "x").ok());  // the system exists from here
  // Checks every 20 ms: a dozen rounds.
  EXPECT_TRUE(eventually([&] { return fleet.accepted() >= 6; }, 2s));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(fleet.touched(), 2);
}

// A backend that answered a call within the interval passed its check: no
// ping while calls flow (10,000 systems checked once a second halved routed
// calls/s); pings again once the calls stop.
TEST(ApertureRouter, ABackendAnsweringCallsIsNotPinged) {
  TestBackend backend;
  RouterOptions options;
  options.discovery = static_url({&backend});
  options.health_check_interval = 300ms;  // calls every ~2 ms: far inside it even on a loaded machine
  Router router(options);
  ASSERT_TRUE(router.call("echo", 1, "x").ok());
  // A new connection asks once whether the backend speaks tagged frames: a ping too.
  const auto probes = backend.pings();
  const auto until = Clock::now() + 1s;
  while (Clock::now() < until) {
    ASSERT_TRUE(router.call("echo", 1, "x").ok());
    std::this_thread::sleep_for(2ms);
  }
  EXPECT_EQ(backend.pings(), probes);
  EXPECT_TRUE(eventually([&] { return backend.pings() >= probes + 2; }, 5s));
}

// A tagged backend is pinged on the shared connection its calls use: a
// check connected afresh every time before (with 10,000 systems, 10,000
// connects a second and their TIME_WAITs exhausted the ephemeral ports).
TEST(ApertureRouter, ATaggedBackendIsPingedOnItsSharedConnection) {
  TestBackend backend;
  RouterOptions options;
  options.discovery = static_url({&backend});
  options.health_check_interval = 20ms;
  Router router(options);
  boost::asio::io_context ctx;
  boost::asio::co_spawn(ctx, [&]() -> boost::asio::awaitable<void> {
    for (int i = 0; i < 3; ++i) EXPECT_TRUE((co_await router.async_call("echo", 1, "x")).ok());
  }, boost::asio::detached);
  ctx.run();  // the calls ran on the router's worker: its pool holds the shared connection
  const auto accepted = backend.accepted();
  const auto pings = backend.pings();
  EXPECT_TRUE(eventually([&] { return backend.pings() >= pings + 5; }, 3s));
  EXPECT_EQ(backend.accepted(), accepted);
}

}  // namespace
}  // namespace routing::test
