// fold_reported_systems: STATUS and /metrics report the busiest systems on
// their own and sum the rest into one entry.
#include "proxy/reported_systems.h"

#include <gtest/gtest.h>

namespace routing::proxy {
namespace {

SystemStats system_with(std::string name, std::uint64_t calls) {
  SystemStats s;
  s.name = std::move(name);
  s.calls_by_status[0] = calls;
  s.in_flight = 1;
  s.latency.bounds_seconds = {0.001};
  s.latency.counts = {calls, 0};
  s.latency.count = calls;
  return s;
}

TEST(ReportedSystems, KeepsTheBusiestAndSumsTheRestIntoOther) {
  RouterStats stats;
  for (int i = 0; i < 5; ++i) stats.systems.push_back(system_with("s" + std::to_string(i), 10 * i));
  std::map<std::string, std::uint64_t> rate_limited{{"s4", 1}, {"s0", 2}, {"made-up", 3}};
  fold_reported_systems(stats, rate_limited, 2);
  ASSERT_EQ(stats.systems.size(), 3u);
  EXPECT_EQ(stats.systems[0].name, "s3");  // the two busiest, by name
  EXPECT_EQ(stats.systems[1].name, "s4");
  const auto& other = stats.systems[2];
  EXPECT_EQ(other.name, other_systems);
  EXPECT_EQ(other.calls_by_status.at(0), 0u + 10 + 20);
  EXPECT_EQ(other.in_flight, 3u);
  EXPECT_EQ(other.latency.count, 30u);
  EXPECT_EQ(other.latency.counts[0], 30u);
  // Folded systems' procedures are counted together as "other".
  ASSERT_EQ(other.calls_by_procedure.size(), 1u);
  EXPECT_FALSE(other.calls_by_procedure[0].procedure);
  EXPECT_EQ(other.calls_by_procedure[0].calls_by_status.at(0), 30u);
  // Rate-limited counts of names not reported on their own join "_other"
  // only once the map itself is past the limit.
  EXPECT_EQ(rate_limited.at("s4"), 1u);
  EXPECT_EQ(rate_limited.at(other_systems), 2u + 3);
}

TEST(ReportedSystems, LeavesFewSystemsAsTheyAre) {
  RouterStats stats;
  stats.systems.push_back(system_with("b", 1));
  stats.systems.push_back(system_with("a", 2));
  std::map<std::string, std::uint64_t> rate_limited{{"x", 1}};
  fold_reported_systems(stats, rate_limited, 2);
  ASSERT_EQ(stats.systems.size(), 2u);
  EXPECT_EQ(stats.systems[0].name, "b");  // untouched, order included
  EXPECT_EQ(rate_limited.size(), 1u);
}

}  // namespace
}  // namespace routing::proxy
