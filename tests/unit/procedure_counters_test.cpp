// ProcedureCounters: the `procedure` label stays bounded whatever ids
// clients send, and no call is lost or counted twice under contention.
#include "routing/procedure_counters.h"

#include <gtest/gtest.h>

#include <set>
#include <thread>

namespace routing::core {
namespace {

std::uint64_t total(const std::vector<ProcedureCalls>& calls) {
  std::uint64_t sum = 0;
  for (const auto& p : calls)
    for (auto [status, count] : p.calls_by_status) sum += count;
  return sum;
}

TEST(ProcedureCounters, LabelsTheFirstProceduresAndCountsLaterOnesAsOther) {
  ProcedureCounters counters;
  EXPECT_TRUE(counters.snapshot().empty());
  counters.add(7, 0);
  counters.add(7, 0);
  counters.add(7, 14);
  counters.add(2, 5);
  auto calls = counters.snapshot();
  ASSERT_EQ(calls.size(), 2u);
  EXPECT_EQ(calls[0].procedure, 7u);  // in the order first seen
  EXPECT_EQ(calls[0].calls_by_status, (std::map<int, std::uint64_t>{{0, 2}, {14, 1}}));
  EXPECT_EQ(calls[1].procedure, 2u);
  for (std::uint32_t id = 100; id < 200; ++id) counters.add(id, 0);
  calls = counters.snapshot();
  ASSERT_EQ(calls.size(), ProcedureCounters::labelled_procedures + 1);
  EXPECT_FALSE(calls.back().procedure);  // "other"
  EXPECT_EQ(calls.back().calls_by_status.at(0), 100u - (ProcedureCounters::labelled_procedures - 2));
  counters.add(7, 0);  // labelled for good
  EXPECT_EQ(counters.snapshot()[0].calls_by_status.at(0), 3u);
  EXPECT_EQ(total(counters.snapshot()), 105u);
}

TEST(ProcedureCounters, ThreadsRacingForSlotsLoseNoCallAndLabelNoIdTwice) {
  ProcedureCounters counters;
  constexpr int per_thread = 20'000;
  auto work = [&](std::uint32_t seed) {
    for (int i = 0; i < per_thread; ++i) counters.add((seed + static_cast<std::uint32_t>(i) * 7) % 40, 0);
  };
  std::thread a(work, 0), b(work, 3);
  a.join();
  b.join();
  auto calls = counters.snapshot();
  EXPECT_EQ(total(calls), 2u * per_thread);
  ASSERT_EQ(calls.size(), ProcedureCounters::labelled_procedures + 1);
  std::set<std::uint32_t> ids;
  for (std::size_t i = 0; i + 1 < calls.size(); ++i) ids.insert(calls[i].procedure.value());
  EXPECT_EQ(ids.size(), ProcedureCounters::labelled_procedures);
}

}  // namespace
}  // namespace routing::core
