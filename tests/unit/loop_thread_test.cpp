// LoopThread: a loop run by a thread of its own, kept alive while idle,
// ended by running out of work (release) or by abandoning it (stop).
#include "rpc/loop_thread.h"

#include "rpc/batched_writes.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

namespace routing::rpc {
namespace {

using namespace std::chrono_literals;

TEST(LoopThread, RunsPostedWorkOnItsOwnThread) {
  LoopThread loop;
  std::promise<std::thread::id> ran_on;
  asio::post(loop.executor(), [&] { ran_on.set_value(std::this_thread::get_id()); });
  auto future = ran_on.get_future();
  ASSERT_EQ(future.wait_for(5s), std::future_status::ready);
  EXPECT_NE(future.get(), std::this_thread::get_id());
}

TEST(LoopThread, KeepsRunningWhileIdle) {
  LoopThread loop;
  std::this_thread::sleep_for(20ms);  // nothing queued meanwhile
  EXPECT_FALSE(loop.context().stopped());
  std::promise<void> ran;
  asio::post(loop.context(), [&] { ran.set_value(); });
  EXPECT_EQ(ran.get_future().wait_for(5s), std::future_status::ready);
}

TEST(LoopThread, ReleaseLetsItFinishTheWorkItHasThenEnd) {
  LoopThread loop;
  std::atomic<bool> fired{false};
  asio::steady_timer timer(loop.context(), 50ms);
  timer.async_wait([&](error_code ec) { fired = !ec; });
  loop.release();
  loop.join();  // returns once the timer's handler ran: the loop ran out of work
  EXPECT_TRUE(fired);
  EXPECT_TRUE(loop.context().stopped());
}

TEST(LoopThread, StopAbandonsQueuedWork) {
  LoopThread loop;
  std::atomic<bool> fired{false};
  asio::steady_timer timer(loop.context(), 10s);
  timer.async_wait([&](error_code) { fired = true; });
  auto before = std::chrono::steady_clock::now();
  loop.stop();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  EXPECT_FALSE(fired) << "a stopped loop runs nothing more";
}

TEST(LoopThread, FinishByReportsWhetherTheWorkRanOutInTime) {
  {
    LoopThread loop;
    asio::post(loop.context(), [] {});
    EXPECT_TRUE(loop.finish_by(std::chrono::steady_clock::now() + 5s));
  }
  {
    LoopThread loop;
    asio::steady_timer timer(loop.context(), 10s);
    timer.async_wait([](error_code) {});
    auto before = std::chrono::steady_clock::now();
    EXPECT_FALSE(loop.finish_by(before + 20ms)) << "the timer keeps it busy past the deadline";
    EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  }
}

TEST(LoopThread, DestructorWaitsForTheRunningHandler) {
  std::atomic<bool> started{false};
  std::atomic<bool> finished{false};
  {
    LoopThread loop;
    asio::post(loop.context(), [&] {
      started = true;
      std::this_thread::sleep_for(50ms);
      finished = true;
    });
    while (!started) std::this_thread::yield();
  }
  EXPECT_TRUE(finished) << "the destructor returned while its thread still ran a handler";
}

TEST(LoopThread, AWorkersLoopBatchesWritesAPlainOneDoesNot) {
  LoopThread worker(LoopOptions{.worker = true});
  LoopThread plain;
  EXPECT_NE(BatchedWrites::of(worker.executor()), nullptr);
  EXPECT_EQ(BatchedWrites::of(plain.executor()), nullptr);
}

}  // namespace
}  // namespace routing::rpc
