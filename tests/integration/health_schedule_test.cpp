// One schedule of health checks for every system, through routing::Router:
// pings are bounded per round, what does not fit is checked in the next
// rounds (every backend in turn), and a backend that hangs until the check's
// timeout delays no other system's checks.
#include <routing/router.h>

#include "support/eventually.h"
#include "support/test_backend.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

// Systems s0..sN-1, one backend each.
struct Systems {
  explicit Systems(int n) {
    for (int i = 0; i < n; ++i) backends.push_back(std::make_unique<TestBackend>());
  }
  std::string discovery() const {
    std::string url = "static://";
    for (std::size_t i = 0; i < backends.size(); ++i) {
      url += (i ? ";s" : "s") + std::to_string(i) + "=" + backends[i]->address();
    }
    return url;
  }
  std::uint64_t pings() const {
    std::uint64_t total = 0;
    for (const auto& backend : backends) total += backend->pings();
    return total;
  }
  std::vector<std::unique_ptr<TestBackend>> backends;
};

bool known_healthy(const Router& router, const std::string& system) {
  for (const auto& stats : router.stats().systems) {
    if (stats.name == system) return !stats.backends.empty() && stats.backends.front().healthy;
  }
  return false;
}

// 12 idle systems checked every 100 ms at 20 pings a second: 2 a round,
// so each backend in turn about every 600 ms, not 120 pings a second
// (a loop per system pinged every backend every round).
TEST(HealthSchedule, PingsPerRoundAreBoundedAndEveryBackendIsCheckedInTurn) {
  Systems systems(12);
  RouterOptions options;
  options.discovery = systems.discovery();
  options.health_check_interval = 100ms;
  options.max_health_checks_per_second = 20;
  Router router(options);
  for (int i = 0; i < 12; ++i) ASSERT_TRUE(router.call("s" + std::to_string(i), 1, "x").ok());
  // A new connection asks once whether the backend speaks tagged frames: a ping too.
  std::vector<std::uint64_t> before;
  for (const auto& backend : systems.backends) before.push_back(backend->pings());
  const auto total_before = systems.pings();
  const auto began = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);
  const auto pinged = systems.pings() - total_before;
  const auto elapsed = std::chrono::steady_clock::now() - began;
  // 20 pings a second over however long the sleep really took (a loaded
  // machine oversleeps), plus a round's worth under way at each end.
  const auto allowed = static_cast<std::uint64_t>(20.0 * std::chrono::duration<double>(elapsed).count()) + 4;
  EXPECT_LE(pinged, allowed);
  EXPECT_GE(pinged, 12u);
  for (std::size_t i = 0; i < systems.backends.size(); ++i) {
    EXPECT_GT(systems.backends[i]->pings(), before[i]) << "s" << i << " was never checked";
  }
}

// A rate below one ping a round: 5 a second at rounds of 100 ms is one
// ping every other round, not one a round (10 a second).
TEST(HealthSchedule, ARateBelowOnePingARoundIsKept) {
  Systems systems(6);
  RouterOptions options;
  options.discovery = systems.discovery();
  options.health_check_interval = 100ms;
  options.max_health_checks_per_second = 5;
  Router router(options);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(router.call("s" + std::to_string(i), 1, "x").ok());
  const auto total_before = systems.pings();
  const auto began = std::chrono::steady_clock::now();
  std::this_thread::sleep_for(2s);
  const auto pinged = systems.pings() - total_before;
  const auto elapsed = std::chrono::steady_clock::now() - began;
  EXPECT_LE(pinged, static_cast<std::uint64_t>(5.0 * std::chrono::duration<double>(elapsed).count()) + 2);
  EXPECT_GE(pinged, 5u);
}

// A system whose backend takes every ping to the check's timeout (it
// listens but never accepts) while another system's backend dies: the
// death is still seen within a few intervals.
TEST(HealthSchedule, AHungBackendDelaysNoOtherSystemsChecks) {
  boost::asio::io_context ctx;
  boost::asio::ip::tcp::acceptor hung(ctx, {boost::asio::ip::make_address("127.0.0.1"), 0});  // never accepts
  TestBackend dying;
  RouterOptions options;
  options.discovery = "static://hung=127.0.0.1:" + std::to_string(hung.local_endpoint().port()) +
                      ";alive=" + dying.address();
  options.health_check_interval = 100ms;
  options.health_check_timeout = 5000ms;
  options.request_timeout = 200ms;
  options.eject_after = 1'000'000;  // passive ejection out of the way: only checks take it out
  Router router(options);
  EXPECT_FALSE(router.call("hung", 1, "x").ok());  // both systems known from here
  ASSERT_TRUE(router.call("alive", 1, "x").ok());
  std::this_thread::sleep_for(300ms);  // the hung backend's pings are under way
  dying.kill();
  // Two failed checks (unhealthy_after) at 100 ms: well before the hung ping's 5 s.
  EXPECT_TRUE(eventually([&] { return !known_healthy(router, "alive"); }, 3s));
}

}  // namespace
}  // namespace routing::test
