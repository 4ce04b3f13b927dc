// System::pick with placements (CONTRACT §11): locality (calls stay in the
// router's zone while it has the capacity, spill over in proportion when it
// has not, come back when it recovers), weights, and maintenance drains.
#include "routing/system.h"

#include <gtest/gtest.h>

#include <map>

namespace routing::core {
namespace {

using Clock = std::chrono::steady_clock;

// Picks `n` times; address -> picks.
std::map<std::string, int> picks(System& system, int n) {
  std::map<std::string, int> seen;
  auto list = system.backends();
  for (int i = 0; i < n; ++i) {
    auto chosen = system.pick(*list, {});
    ++seen[chosen ? chosen->address : "none"];
  }
  return seen;
}

discovery::Placement in(std::string zone, std::uint32_t weight = 100) {
  discovery::Placement placement;
  placement.zone = std::move(zone);
  placement.weight = weight;
  return placement;
}

// Three backends in zone a (ports 1-3), two in zone b (ports 4-5).
discovery::AddressSet two_zones() {
  discovery::AddressSet set;
  for (int port = 1; port <= 5; ++port) {
    std::string address = "127.0.0.1:" + std::to_string(port);
    set.addresses.push_back(address);
    set.place(address, in(port <= 3 ? "a" : "b"));
  }
  return set;
}

RouterOptions in_zone(std::string zone) {
  RouterOptions options;
  options.discovery = "static://echo=127.0.0.1:1";
  options.zone = std::move(zone);
  return options;
}

std::shared_ptr<Backend> backend(System& system, int port) {
  for (const auto& each : system.backends()->backends) {
    if (each->address == "127.0.0.1:" + std::to_string(port)) return each;
  }
  return nullptr;
}

int in_zone_b(std::map<std::string, int>& seen) { return seen["127.0.0.1:4"] + seen["127.0.0.1:5"]; }

TEST(Zones, CallsStayInTheRoutersZoneWhileItIsHealthy) {
  LiveOptions live{in_zone("b")};
  System system("echo", live, Strategy::round_robin);
  system.set_backends(two_zones());
  auto seen = picks(system, 1000);
  EXPECT_EQ(in_zone_b(seen), 1000);
  EXPECT_EQ(seen["127.0.0.1:4"], 500);
  EXPECT_EQ(system.stats().cross_zone_calls, 0u);
  auto stats = system.stats();
  EXPECT_EQ(stats.backends.at(0).zone, "a");
  EXPECT_FALSE(stats.backends.at(0).local);
  EXPECT_TRUE(stats.backends.at(3).local);
}

TEST(Zones, WithoutAZoneEveryBackendIsNear) {
  LiveOptions live{in_zone("")};
  System system("echo", live, Strategy::round_robin);
  system.set_backends(two_zones());
  auto seen = picks(system, 1000);
  for (int port = 1; port <= 5; ++port) EXPECT_EQ(seen["127.0.0.1:" + std::to_string(port)], 200);
}

TEST(Zones, AZoneThatLostTooMuchSpillsInProportionAndTakesItsCallsBackOnRecovery) {
  LiveOptions live{in_zone("b")};
  System system("echo", live, Strategy::round_robin);
  system.set_backends(two_zones());
  backend(system, 4)->healthy = false;  // zone b keeps half its capacity: 1.4 × 1/2 = 70% stay
  auto half = picks(system, 10'000);
  EXPECT_EQ(half["127.0.0.1:4"], 0);
  EXPECT_NEAR(half["127.0.0.1:5"], 7000, 300);
  // The spilled 30% go to zone a, spread over its backends.
  for (int port = 1; port <= 3; ++port) EXPECT_NEAR(half["127.0.0.1:" + std::to_string(port)], 1000, 200);
  EXPECT_NEAR(static_cast<double>(system.stats().cross_zone_calls), 3000, 300);

  backend(system, 5)->healthy = false;  // nothing left in zone b: everything spills
  auto none = picks(system, 900);
  EXPECT_EQ(in_zone_b(none), 0);
  EXPECT_EQ(none["none"], 0);

  backend(system, 4)->healthy = true;  // recovery: back to 70%, then all
  backend(system, 5)->healthy = true;
  auto back = picks(system, 1000);
  EXPECT_EQ(in_zone_b(back), 1000);
}

TEST(Zones, WeightsBiasThePicksWithinAZone) {
  LiveOptions live{in_zone("a")};
  System system("echo", live, Strategy::round_robin);
  auto set = two_zones();
  set.place("127.0.0.1:1", in("a", 50));
  set.place("127.0.0.1:2", in("a", 50));
  set.place("127.0.0.1:3", in("a", 900));
  system.set_backends(set);
  auto seen = picks(system, 10'000);
  EXPECT_NEAR(seen["127.0.0.1:3"], 9000, 200);
  EXPECT_NEAR(seen["127.0.0.1:1"], 500, 150);
  EXPECT_EQ(in_zone_b(seen), 0);
  EXPECT_EQ(system.stats().backends.at(2).weight, 900u);
}

TEST(Zones, ARegistrationsNewPlacementIsTakenWithoutLosingTheBackendsState) {
  LiveOptions live{in_zone("b")};
  System system("echo", live, Strategy::round_robin);
  system.set_backends(two_zones());
  auto kept = backend(system, 1);
  kept->connect_failures = 3;
  auto moved = two_zones();
  moved.place("127.0.0.1:1", in("b", 300));  // same addresses: a placement change only
  system.set_backends(moved);
  EXPECT_EQ(backend(system, 1), kept);
  EXPECT_TRUE(kept->local.load());
  EXPECT_EQ(kept->weight.load(), 300u);
  auto seen = picks(system, 5000);
  EXPECT_NEAR(seen["127.0.0.1:1"], 3000, 200);  // 300 of 500 near weight
}

TEST(Drain, ADrainedBackendGetsNoCallsAndTheDrainOutlivesItsRegistration) {
  LiveOptions live{in_zone("")};
  System system("echo", live, Strategy::round_robin);
  system.set_backends(std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2"});
  EXPECT_EQ(system.set_drained("127.0.0.1:1", true), System::DrainResult::listed);
  EXPECT_EQ(picks(system, 100)["127.0.0.1:2"], 100);
  EXPECT_TRUE(system.stats().backends.at(0).drained);
  // It leaves discovery (maintenance restart) and comes back: still drained.
  system.set_backends(std::vector<std::string>{"127.0.0.1:2"});
  system.set_backends(std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:2"});
  EXPECT_EQ(picks(system, 100)["127.0.0.1:2"], 100);
  EXPECT_EQ(system.set_drained("127.0.0.1:1", false), System::DrainResult::listed);
  EXPECT_EQ(picks(system, 100)["127.0.0.1:1"], 50);
  // Draining every backend leaves none to pick.
  system.set_drained("127.0.0.1:1", true);
  system.set_drained("127.0.0.1:2", true);
  EXPECT_EQ(picks(system, 10)["none"], 10);
}

TEST(Drain, AnAddressNotListedIsRememberedAndTheNumberOfDrainsIsBounded) {
  LiveOptions live{in_zone("")};
  System system("echo", live, Strategy::round_robin);
  system.set_backends(std::vector<std::string>{"127.0.0.1:1"});
  EXPECT_EQ(system.set_drained("127.0.0.1:9", true), System::DrainResult::not_listed);
  system.set_backends(std::vector<std::string>{"127.0.0.1:1", "127.0.0.1:9"});
  EXPECT_EQ(picks(system, 10)["127.0.0.1:1"], 10);
  for (std::size_t i = 1; i < System::max_drained; ++i) {
    ASSERT_NE(system.set_drained("10.0.0.1:" + std::to_string(i), true), System::DrainResult::too_many);
  }
  EXPECT_EQ(system.set_drained("10.0.0.2:1", true), System::DrainResult::too_many);
  // At the bound an address drained already may be drained again (listed now).
  EXPECT_EQ(system.set_drained("127.0.0.1:9", true), System::DrainResult::listed);
  EXPECT_EQ(system.drained_addresses().size(), System::max_drained);
}

}  // namespace
}  // namespace routing::core
