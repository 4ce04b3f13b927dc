// The table of one server connection's tagged calls (rpc/tagged_calls.h).
#include "rpc/tagged_calls.h"

#include <gtest/gtest.h>

namespace routing::rpc {
namespace {

using Clock = std::chrono::steady_clock;

TEST(TaggedCalls, AnAnsweredCallFreesItsIdButHoldsItsSlotUntilReleased) {
  ConnectionContext connection;
  TaggedCalls calls(connection);
  auto slot = calls.open(5, Clock::time_point::max());
  EXPECT_TRUE(calls.in_flight(5));
  EXPECT_EQ(calls.held(), 1u);
  EXPECT_TRUE(calls.take_answer(slot));
  EXPECT_FALSE(calls.take_answer(slot));  // answered once
  EXPECT_FALSE(calls.in_flight(5));
  EXPECT_EQ(calls.held(), 1u);  // the handler still holds it
  auto again = calls.open(5, Clock::time_point::max());  // the id may be reused meanwhile
  EXPECT_NE(again, slot);
  calls.release(slot);
  EXPECT_EQ(calls.held(), 1u);
  EXPECT_TRUE(calls.in_flight(5));  // releasing the old slot leaves the new call alone
  EXPECT_EQ(&calls.at(again).call.connection, &connection);
}

TEST(TaggedCalls, ReusesSlotsAndKeepsContextsInPlace) {
  ConnectionContext connection;
  TaggedCalls calls(connection);
  auto first = calls.open(1, Clock::time_point::max());
  CallContext* address = &calls.at(first).call;
  calls.at(first).call.traceparent = "00-x";
  for (std::uint64_t id = 2; id < 100; ++id) calls.open(id, Clock::time_point::max());  // the deque grows
  EXPECT_EQ(&calls.at(first).call, address);
  calls.release(first);
  auto reused = calls.open(200, Clock::time_point::max());
  EXPECT_EQ(reused, first);
  EXPECT_TRUE(calls.at(reused).call.traceparent.empty());
  EXPECT_FALSE(calls.at(reused).call.abandoned);
}

TEST(TaggedCalls, FindsOverdueCallsAndTheEarliestDeadline) {
  ConnectionContext connection;
  TaggedCalls calls(connection);
  auto now = Clock::now();
  auto late = calls.open(1, now + std::chrono::seconds(5));
  auto soon = calls.open(2, now + std::chrono::milliseconds(5));
  calls.open(3, Clock::time_point::max());
  EXPECT_EQ(calls.earliest_deadline(), now + std::chrono::milliseconds(5));
  EXPECT_EQ(calls.overdue(now + std::chrono::seconds(1)), std::vector<std::uint32_t>{soon});
  calls.take_answer(soon);
  EXPECT_EQ(calls.earliest_deadline(), now + std::chrono::seconds(5));
  EXPECT_TRUE(calls.overdue(now + std::chrono::seconds(1)).empty());
  EXPECT_EQ(calls.answerable(), 2u);
  (void)late;
}

}  // namespace
}  // namespace routing::rpc
