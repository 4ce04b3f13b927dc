// Early shedding's arithmetic (routing/admission.h), with made-up times.
#include "routing/admission.h"

#include <gtest/gtest.h>

namespace routing::core {
namespace {

using namespace std::chrono_literals;
using Clock = QueueAdmission::Clock;

// Calls hold 20 ms, the queue moves 2 ms a place (a call that waited 20 ms
// behind 9), and a queued call's deadline passed at `now` (overload).
void learn_and_overload(QueueAdmission& admission, Clock::time_point now) {
  admission.note_hold(20ms);
  admission.note_wait(20ms, 9);
  admission.note_late(now);
}

TEST(QueueAdmission, AdmitsEverythingUntilAQueuedCallGotItsPermit) {
  QueueAdmission admission;
  admission.note_hold(20ms);
  const auto now = Clock::time_point{} + 1h;
  EXPECT_FALSE(admission.refuses(now, now + 1ms, 100000));
}

// The case: pool 10, calls of 20 ms, deadline 200 ms: the queue
// moves a place every 2 ms (a call that waited behind 9 others got its
// permit after 20 ms). The 90th in line gets its slot after 180 ms and its
// answer at 200 ms: admitted; the 91st would be late.
TEST(QueueAdmission, RefusesACallTheQueueWouldServeTooLate) {
  QueueAdmission admission;
  admission.note_hold(20ms);
  admission.note_wait(20ms, 9);
  EXPECT_EQ(admission.per_place(), 2ms);
  const auto now = Clock::time_point{} + 1h;
  EXPECT_FALSE(admission.refuses(now, now + 200ms, 90));  // no sign of overload yet: predictions alone refuse nothing
  admission.note_late(now - 500ms);  // a queued call's deadline passed half a second ago
  EXPECT_EQ(admission.expected_wait(89), 180ms);
  EXPECT_FALSE(admission.refuses(now, now + 200ms, 89));
  auto refusal = admission.refuses(now, now + 200ms, 90);
  ASSERT_TRUE(refusal);
  EXPECT_EQ(refusal->expected_wait, 182ms);
  EXPECT_EQ(refusal->left, 200ms);
  // No time left: refused even with an empty queue.
  EXPECT_TRUE(admission.refuses(now, now + 10ms, 0));
  // Overload is remembered for a second.
  EXPECT_FALSE(admission.refuses(now + 600ms, now + 610ms, 0));
  EXPECT_EQ(admission.queue_wait.snapshot().count, 1u);
}

TEST(QueueAdmission, AMaximumWaitBoundsTheQueueBeforeTheDeadlineDoes) {
  QueueAdmission admission;
  const auto now = Clock::time_point{} + 1h;
  learn_and_overload(admission, now);
  EXPECT_FALSE(admission.refuses(now, now + 5s, 9, 20ms));  // the 10th in line: one round of slots
  EXPECT_TRUE(admission.refuses(now, now + 5s, 10, 20ms));
}

// The speed follows the queue: each call through it moves the average 1/16
// of the way, so after 16 calls that waited twice as long per place it is
// past 3.2 ms a place (was 2), and the same queue that was admitted is
// refused.
TEST(QueueAdmission, TheQueuesSpeedFollowsASlowdownWithinAFewDozenCalls) {
  QueueAdmission admission;
  const auto now = Clock::time_point{} + 1h;
  learn_and_overload(admission, now);
  EXPECT_FALSE(admission.refuses(now, now + 200ms, 60));  // 122 + 20 ms
  for (int i = 0; i < 16; ++i) admission.note_wait(40ms, 9);
  EXPECT_GT(admission.per_place(), 3200us);
  EXPECT_LT(admission.per_place(), 4ms);
  EXPECT_TRUE(admission.refuses(now, now + 200ms, 60));
}

// A call its deadline cut short would have held its slot longer: it
// counts as at least the mean, so calls sent late (ending within a few ms at
// their deadlines) do not teach that calls are quick. Measured before: the
// mean fell to 7 ms for 20 ms calls, and goodput to 336 of 500 calls/s.
TEST(QueueAdmission, HoldsCutShortByTheirDeadlineDoNotLowerTheMean) {
  QueueAdmission admission;
  admission.note_hold(20ms);
  for (int i = 0; i < 100; ++i) admission.note_hold(2ms, true);
  EXPECT_EQ(admission.mean_hold(), 20ms);
  for (int i = 0; i < 100; ++i) admission.note_hold(60ms, true);  // but longer ones raise it
  EXPECT_GT(admission.mean_hold(), 55ms);
}

TEST(QueueAdmission, APermitWithLessThanAMeanHoldLeftIsTooLateToSendUnderOverload) {
  QueueAdmission admission;
  const auto now = Clock::time_point{} + 1h;
  EXPECT_FALSE(admission.too_late_to_send(now, now + 1ms));  // nothing learned
  admission.note_hold(20ms);
  EXPECT_FALSE(admission.too_late_to_send(now, now + 19ms));  // no overload: the mean says little of one call
  admission.note_late(now);
  EXPECT_TRUE(admission.too_late_to_send(now, now + 19ms));
  EXPECT_FALSE(admission.too_late_to_send(now, now + 20ms));
}

// A call that spent more than half its time before it was sent did not get
// a fair chance; a hung backend's calls, sent at once, did.
TEST(QueueAdmission, AFairChanceIsHalfTheCallsTimeLeftWhenSent) {
  const auto arrival = Clock::time_point{} + 1h;
  EXPECT_TRUE(QueueAdmission::fair_chance(arrival, arrival, arrival + 200ms));
  EXPECT_TRUE(QueueAdmission::fair_chance(arrival, arrival + 100ms, arrival + 200ms));
  EXPECT_FALSE(QueueAdmission::fair_chance(arrival, arrival + 101ms, arrival + 200ms));
}

// Every refusal renews overload, the max_wait bound's too (a bound that
// lapsed after a second let adaptive pools' queues grow back to their
// deadlines: p99 at 2x went from 40 to 199 ms).
TEST(QueueAdmission, EveryRefusalRenewsOverload) {
  QueueAdmission admission;
  const auto now = Clock::time_point{} + 1h;
  learn_and_overload(admission, now);
  // Refused by the bound only: its deadline is 5 s away.
  ASSERT_TRUE(admission.refuses(now + 900ms, now + 5s, 10, 20ms));
  EXPECT_FALSE(admission.refuses(now + 900ms, now + 5s, 10));
  admission.note_shed(now + 900ms);
  EXPECT_TRUE(admission.overloaded(now + 1100ms));
  EXPECT_FALSE(admission.overloaded(now + 1901ms));
  EXPECT_TRUE(admission.refuses(now + 900ms, now + 910ms, 10));
  EXPECT_EQ(admission.shed.load(), 1u);
}

}  // namespace
}  // namespace routing::core
