// WakeFlag: the sleeper returns once the flag is set, whether set before it
// sleeps or while it sleeps, sees what the waker wrote, and the flag can be
// used again at once (a late wake of the previous use is harmless).
#include "common/wake_flag.h"

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <thread>

namespace routing::common {
namespace {

using namespace std::chrono_literals;

TEST(WakeFlag, SetBeforeTheWaitReturnsAtOnce) {
  WakeFlag flag;
  flag.set();
  flag.wait();  // would sleep forever if the early set were lost
  SUCCEED();
}

TEST(WakeFlag, WakesASleeperAndPublishesWhatWasWrittenBefore) {
  WakeFlag flag;
  int value = 0;
  std::atomic<bool> returned{false};
  std::thread sleeper([&] {
    flag.wait();
    returned = true;
    EXPECT_EQ(value, 42);
  });
  std::this_thread::sleep_for(50ms);
  EXPECT_FALSE(returned.load());  // it really waits for set()
  value = 42;
  flag.set();
  sleeper.join();
  EXPECT_TRUE(returned.load());
}

TEST(WakeFlag, ReusedThousandsOfTimesAcrossThreads) {
  WakeFlag flag;
  int rounds_seen = 0;
  for (int round = 1; round <= 2000; ++round) {
    flag.reset();
    std::thread waker([&, round] {
      rounds_seen = round;
      flag.set();
    });
    flag.wait();
    EXPECT_EQ(rounds_seen, round);
    waker.join();
  }
}

}  // namespace
}  // namespace routing::common
