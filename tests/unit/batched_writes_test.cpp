// BatchedWrites: a loop turn's writes wait for its last handler, answers
// first; a quiet loop writes at once.
#include "rpc/batched_writes.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace routing::rpc {
namespace {

class BatchedWritesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!BatchedWrites::sees_turn_end) GTEST_SKIP() << "this Asio's queue cannot be inspected";
    BatchedWrites::enable(loop);
    batch = BatchedWrites::of(loop.get_executor());
    ASSERT_NE(batch, nullptr);
  }
  // A write that records its name when it runs.
  void write(const char* name, WriteKind kind) {
    batch->write_soon([this, name] { ran.push_back(name); }, kind);
  }
  using Names = std::vector<std::string>;

  asio::io_context loop{single_thread_loop};
  // A timer gives the loop its reactor, so its queue carries the marker of
  // the epoll wait, as a worker loop's does.
  asio::steady_timer reactor_user{loop};
  BatchedWrites* batch = nullptr;
  Names ran;
};

TEST_F(BatchedWritesTest, TheTurnsOnlyHandlerWritesAtOnce) {
  asio::post(loop, [&] {
    EXPECT_FALSE(batch->more_ready_work());
    write("a", WriteKind::answer);
    EXPECT_EQ(ran, Names{"a"}) << "a lone call must not wait";
  });
  EXPECT_EQ(loop.poll(), 1u);
}

TEST_F(BatchedWritesTest, WritesWaitWhileWorkIsReadyThenGoTogetherAnswersFirst) {
  asio::post(loop, [&] {
    EXPECT_TRUE(batch->more_ready_work());
    write("request 1", WriteKind::request);
    EXPECT_TRUE(ran.empty());
  });
  asio::post(loop, [&] {
    write("answer 1", WriteKind::answer);
    EXPECT_TRUE(ran.empty());
  });
  asio::post(loop, [&] {
    EXPECT_TRUE(batch->more_ready_work()) << "the batch's own handler is queued";
    write("request 2", WriteKind::request);
    EXPECT_TRUE(ran.empty());
  });
  EXPECT_EQ(loop.poll(), 4u);  // three handlers, then one for all three writes
  EXPECT_EQ(ran, (Names{"answer 1", "request 1", "request 2"}));
}

TEST_F(BatchedWritesTest, ATurnAfterTheBatchWritesAtOnceAgain) {
  asio::post(loop, [&] { write("first turn", WriteKind::answer); });
  asio::post(loop, [] {});
  EXPECT_EQ(loop.poll(), 3u);
  ASSERT_EQ(ran, Names{"first turn"});
  loop.restart();  // the poll ran out of work, which stops the loop
  asio::post(loop, [&] {
    write("second turn", WriteKind::answer);
    EXPECT_EQ(ran, (Names{"first turn", "second turn"}));
  });
  EXPECT_EQ(loop.poll(), 1u);
}

TEST_F(BatchedWritesTest, AWriteMadeByAWaitingWriteRunsAtOnce) {
  asio::post(loop, [&] {
    batch->write_soon(
        [&] {
          ran.push_back("first");
          write("second", WriteKind::request);
          EXPECT_EQ(ran, (Names{"first", "second"}));
        },
        WriteKind::answer);
  });
  asio::post(loop, [] {});
  loop.poll();
  EXPECT_EQ(ran, (Names{"first", "second"}));
}

TEST_F(BatchedWritesTest, AWriteFromAnotherThreadRunsAtOnce) {
  write("outside", WriteKind::answer);  // nothing runs the loop: not its thread
  EXPECT_EQ(ran, Names{"outside"});
  EXPECT_EQ(loop.poll(), 0u);
}

TEST_F(BatchedWritesTest, ALoopDestroyedFirstReleasesWhatWaitingWritesHold) {
  auto held = std::make_shared<int>(7);
  std::weak_ptr<int> watch = held;
  bool wrote = false;
  {
    asio::io_context own{single_thread_loop};
    asio::steady_timer reactor(own);
    BatchedWrites::enable(own);
    auto* own_batch = BatchedWrites::of(own.get_executor());
    asio::post(own, [&, held = std::move(held)]() mutable {
      own_batch->write_soon([held = std::move(held), &wrote] { wrote = true; }, WriteKind::request);
    });
    asio::post(own, [] {});
    EXPECT_EQ(own.run_one(), 1u);  // the write waits for the second handler, which never runs
  }
  EXPECT_FALSE(wrote);
  EXPECT_TRUE(watch.expired());
}

// Without a reactor the queue has no marker: a lone handler left is ready
// work, not the epoll wait.
TEST(BatchedWrites, WithoutAReactorAHandlerLeftIsStillWorkToWaitFor) {
  if (!BatchedWrites::sees_turn_end) GTEST_SKIP();
  asio::io_context loop{single_thread_loop};
  BatchedWrites::enable(loop);
  auto* batch = BatchedWrites::of(loop.get_executor());
  std::vector<int> ran;
  asio::post(loop, [&] {
    EXPECT_TRUE(batch->more_ready_work());
    batch->write_soon([&] { ran.push_back(1); }, WriteKind::request);
    EXPECT_TRUE(ran.empty());
  });
  asio::post(loop, [] {});
  EXPECT_EQ(loop.poll(), 3u);
  EXPECT_EQ(ran, std::vector<int>{1});
}

TEST(BatchedWrites, ALoopNotOptedInHasNoBatch) {
  asio::io_context loop;
  EXPECT_EQ(BatchedWrites::of(loop.get_executor()), nullptr);
}

}  // namespace
}  // namespace routing::rpc
