// The aperture (routing/aperture.h): a router looks at a window of its
// connection limit's size of a system's backends, starting at its own place
// on the ring; unavailable and excluded backends do not take a place; at
// the bound on connections, backends with a connection to spare go first.
#include "routing/aperture.h"
#include "routing/system.h"

#include <gtest/gtest.h>

#include <set>

namespace routing::core {
namespace {

std::vector<std::string> addresses(int n) {
  std::vector<std::string> all;
  for (int i = 0; i < n; ++i) all.push_back("127.0.0." + std::to_string(1 + i / 200) + ":" + std::to_string(1000 + i));
  return all;
}

RouterOptions with_pool(std::size_t pool_size) {
  RouterOptions options;
  options.discovery = "static://echo=127.0.0.1:1";
  options.pool_size = pool_size;
  return options;
}

std::set<std::string> picked(System& system, int n, std::span<Backend* const> excluded = {}) {
  std::set<std::string> seen;
  auto list = system.backends();
  for (int i = 0; i < n; ++i) seen.insert(system.pick(*list, excluded)->address);
  return seen;
}

// The backend of `system` at `address`.
Backend* backend_at(const System& system, const std::string& address) {
  for (const auto& backend : system.backends()->backends) {
    if (backend->address == address) return backend.get();
  }
  return nullptr;
}

std::vector<std::string> window_of(const System& system) {
  std::vector<std::string> window;
  for (const auto& backend : system.in_aperture(*system.backends(), std::chrono::steady_clock::now())) {
    window.push_back(backend->address);
  }
  return window;
}

TEST(Aperture, WidthIsTheConnectionLimitAndNeverMoreThanTheBackends) {
  EXPECT_EQ(Aperture::width(1000, 10), 10u);
  EXPECT_EQ(Aperture::width(3, 10), 3u);
  EXPECT_EQ(Aperture::width(5, 0), 1u);
  EXPECT_EQ(Aperture::width(11, 10), 10u);
}

TEST(Aperture, WalksTheRingFromItsPlaceOnlyWhenItNarrows) {
  Aperture aperture(0.75);
  EXPECT_EQ(aperture.first(8), 6u);
  EXPECT_EQ(Aperture(0.999999).first(8), 7u);
  std::vector<std::size_t> order;
  aperture.walk(8, 3, [&](std::size_t i) {
    order.push_back(i);
    return order.size() < 4;
  });
  EXPECT_EQ(order, (std::vector<std::size_t>{6, 7, 0, 1}));
  order.clear();
  aperture.walk(3, 3, [&](std::size_t i) {  // not narrowed: the order of a router without an aperture
    order.push_back(i);
    return true;
  });
  EXPECT_EQ(order, (std::vector<std::size_t>{0, 1, 2}));
}

TEST(Aperture, PicksStayInAWindowOfThePoolSize) {
  LiveOptions live{with_pool(4)};
  System system("echo", live, Strategy::round_robin);
  system.set_backends(addresses(100));
  auto window = window_of(system);
  ASSERT_EQ(window.size(), 4u);
  EXPECT_EQ(picked(system, 1000), std::set<std::string>(window.begin(), window.end()));
  // Contiguous on the ring of sorted addresses, from the system's place.
  auto list = system.backends();
  const std::size_t first = system.aperture().first(100);
  for (std::size_t k = 0; k < 4; ++k) EXPECT_EQ(window[k], list->backends[(first + k) % 100]->address);
}

TEST(Aperture, ASystemWithNoMoreBackendsThanConnectionsUsesThemAll) {
  LiveOptions live{with_pool(10)};
  System system("echo", live, Strategy::round_robin);
  system.set_backends(addresses(10));
  EXPECT_EQ(picked(system, 100).size(), 10u);
  EXPECT_EQ(window_of(system).size(), 10u);
}

TEST(Aperture, ReachesPastUnavailableBackendsSoItKeepsItsWidth) {
  LiveOptions live{with_pool(4)};
  System system("echo", live, Strategy::least_connections);
  system.set_backends(addresses(50));
  auto before = window_of(system);
  backend_at(system, before[0])->healthy = false;
  backend_at(system, before[1])->healthy = false;
  auto after = window_of(system);
  ASSERT_EQ(after.size(), 6u);  // the two taken out, and two more past the old window
  EXPECT_EQ(after[0], before[0]);
  EXPECT_EQ(after[3], before[3]);
  auto seen = picked(system, 1000);
  EXPECT_EQ(seen.size(), 4u);
  EXPECT_FALSE(seen.contains(before[0]));
  EXPECT_FALSE(seen.contains(before[1]));
  EXPECT_TRUE(seen.contains(after[5]));
}

TEST(Aperture, ARetryGoesPastTheBackendsItAlreadyTried) {
  LiveOptions live{with_pool(2)};
  System system("echo", live, Strategy::round_robin);
  system.set_backends(addresses(30));
  auto window = window_of(system);
  std::vector<Backend*> tried{backend_at(system, window[0]), backend_at(system, window[1])};
  auto seen = picked(system, 100, tried);
  EXPECT_EQ(seen.size(), 2u);
  EXPECT_FALSE(seen.contains(window[0]));
  EXPECT_FALSE(seen.contains(window[1]));
}

TEST(Aperture, AtTheBoundOnConnectionsABackendWithOneToSpareGoesFirst) {
  LiveOptions live{with_pool(8)};
  System system("echo", live, Strategy::random);
  system.set_backends(addresses(100));
  auto window = window_of(system);
  Backend* spare = backend_at(system, window[5]);
  spare->shared_connections = 1;
  EXPECT_EQ(picked(system, 200).size(), 8u);  // below the bound: the whole window
  system.open_connections = 8;
  EXPECT_EQ(picked(system, 200), std::set<std::string>{window[5]});
  spare->shared_connections = 0;
  spare->idle_connections = 1;
  EXPECT_EQ(picked(system, 200), std::set<std::string>{window[5]});
  spare->idle_connections = 0;
  EXPECT_EQ(picked(system, 200).size(), 8u);  // none to spare: the whole window again
  system.open_connections = 0;
}

TEST(Aperture, ABackendJoiningMovesTheWindowByOneAtMost) {
  LiveOptions live{with_pool(10)};
  System system("echo", live, Strategy::round_robin);
  auto all = addresses(200);
  system.set_backends(all);
  auto before = window_of(system);
  all.push_back("127.0.0.1:999");  // joins the ring (sorted by address)
  system.set_backends(all);
  auto after = window_of(system);
  std::set<std::string> kept(before.begin(), before.end());
  int shared = 0;
  for (const auto& address : after) shared += kept.contains(address);
  EXPECT_GE(shared, 9);
  // And one joining before every other (so before the window's start).
  all.push_back("127.0.0.0:1");
  system.set_backends(all);
  auto again = window_of(system);
  kept = std::set<std::string>(after.begin(), after.end());
  shared = 0;
  for (const auto& address : again) shared += kept.contains(address);
  EXPECT_GE(shared, 9);
}

TEST(Aperture, ZonedWindowsHoldNearAndFarBackends) {
  RouterOptions options = with_pool(3);
  options.zone = "a";
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  discovery::AddressSet set;
  for (int i = 0; i < 40; ++i) {
    auto address = "127.0.0.1:" + std::to_string(2000 + i);
    set.addresses.push_back(address);
    discovery::Placement placement;
    placement.zone = i % 10 == 0 ? "a" : "b";
    set.placements[address] = placement;
  }
  system.set_backends(set);
  auto window = window_of(system);
  int near = 0;
  for (const auto& address : window) near += backend_at(system, address)->local.load();
  EXPECT_EQ(near, 3);
  EXPECT_EQ(window.size() - near, 3u);
  // Every near one that is available: picks stay near.
  for (const auto& address : picked(system, 300)) EXPECT_EQ((std::stoi(address.substr(10)) - 2000) % 10, 0) << address;
}

}  // namespace
}  // namespace routing::core

namespace routing::core {
namespace {

// Adaptive pools: the window holds pool_size backends while calls are few,
// grows until its backends' limits hold twice the calls in flight, and
// shrinks back when they stop; the system's limit sums the window's only
// (summed over all 100 backends it started at 100 x the start limit, and
// the window was every backend).
TEST(AdaptiveAperture, TheWindowGrowsAndShrinksWithTheCallsInFlight) {
  using namespace std::chrono_literals;
  auto options = with_pool(4);
  options.adaptive_pool = true;
  LiveOptions live{options};
  System system("echo", live, Strategy::round_robin);
  system.set_backends(addresses(100));
  EXPECT_EQ(window_of(system).size(), 4u);
  EXPECT_EQ(system.limiter.limit(), 16u);  // 4 backends at their start limit, 4
  const auto now = std::chrono::steady_clock::now();
  // 30 calls in flight on average over a 100 ms window: 3 s of latency.
  for (const auto& address : window_of(system)) {
    for (int i = 0; i < 75; ++i) backend_at(system, address)->window.completed(10ms);
  }
  system.update_limits(100ms, now);
  const auto grown = window_of(system);
  std::size_t sum = 0;
  for (const auto& address : grown) sum += backend_at(system, address)->limit.load();
  EXPECT_GT(grown.size(), 4u);
  EXPECT_GE(sum, 60u);
  EXPECT_EQ(system.limiter.limit(), sum);
  EXPECT_LT(grown.size(), 100u);
  EXPECT_EQ(picked(system, 1000), std::set<std::string>(grown.begin(), grown.end()));
  system.update_limits(100ms, now);  // a window without calls
  EXPECT_EQ(window_of(system).size(), 4u);
}

}  // namespace
}  // namespace routing::core
