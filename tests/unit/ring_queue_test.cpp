// RingQueue: first in, first out, through wrap-arounds and growth, keeping
// its capacity.
#include "common/ring_queue.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace routing::common {
namespace {

std::vector<int> contents(const RingQueue<int>& queue) {
  std::vector<int> out;
  for (int value : queue) out.push_back(value);
  return out;
}

TEST(RingQueue, KeepsOrderThroughWrapAroundAndGrowth) {
  RingQueue<int> queue;
  EXPECT_TRUE(queue.empty());
  int next_in = 0, next_out = 0;
  // Keep three in flight so the ring wraps, then grow it while wrapped.
  for (int round = 0; round < 10; ++round) {
    queue.push_back(next_in++);
    if (queue.size() > 3) {
      EXPECT_EQ(queue.front(), next_out++);
      queue.pop_front();
    }
  }
  for (int i = 0; i < 6; ++i) queue.push_back(next_in++);
  EXPECT_EQ(queue.size(), 9u);
  std::vector<int> expected;
  for (int i = next_out; i < next_in; ++i) expected.push_back(i);
  EXPECT_EQ(contents(queue), expected);
  while (!queue.empty()) {
    EXPECT_EQ(queue.front(), next_out++);
    queue.pop_front();
  }
  EXPECT_EQ(next_out, next_in);
}

TEST(RingQueue, ASteadyLengthNeverGrowsTheRing) {
  RingQueue<std::string> queue;
  for (int i = 0; i < 3; ++i) queue.push_back(std::to_string(i));
  const std::size_t capacity = queue.capacity();
  for (int i = 3; i < 10000; ++i) {
    queue.push_back(std::to_string(i));
    EXPECT_EQ(queue.front(), std::to_string(i - 3));
    queue.pop_front();
  }
  EXPECT_EQ(queue.capacity(), capacity) << "what std::deque does not: no block freed and taken again";
}

TEST(RingQueue, PopClearAndMoveReleaseTheElements) {
  auto held = std::make_shared<int>(1);
  RingQueue<std::shared_ptr<int>> queue;
  for (int i = 0; i < 5; ++i) queue.push_back(held);
  EXPECT_EQ(held.use_count(), 6);
  queue.pop_front();
  EXPECT_EQ(held.use_count(), 5);

  RingQueue<std::shared_ptr<int>> moved = std::move(queue);
  EXPECT_TRUE(queue.empty());  // NOLINT(bugprone-use-after-move): moved-from is empty, and usable
  EXPECT_EQ(moved.size(), 4u);
  queue.push_back(held);
  EXPECT_EQ(queue.front(), held);

  moved.clear();
  EXPECT_TRUE(moved.empty());
  EXPECT_EQ(held.use_count(), 2);
  { RingQueue<std::shared_ptr<int>> dropped = std::move(queue); }
  EXPECT_EQ(held.use_count(), 1);
}

}  // namespace
}  // namespace routing::common
