// DeferredReads: read starts run from a later turn of the loop, together.
#include "rpc/deferred_reads.h"

#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <memory>
#include <vector>

namespace routing::rpc {
namespace {

TEST(DeferredReads, StartsRunLaterInOrderFromOnePost) {
  asio::io_context loop;
  DeferredReads::enable(loop);
  DeferredReads* batch = DeferredReads::of(loop.get_executor());
  ASSERT_NE(batch, nullptr);
  std::vector<int> ran;
  for (int i = 0; i < 5; ++i) batch->defer([&ran, i] { ran.push_back(i); });
  EXPECT_TRUE(ran.empty()) << "a start must not run inline";
  // One handler ran all five: a post each would be five.
  EXPECT_EQ(loop.poll(), 1u);
  EXPECT_EQ(ran, (std::vector<int>{0, 1, 2, 3, 4}));
}

TEST(DeferredReads, AStartDeferredWhileStartsRunWaitsForTheNextTurn) {
  asio::io_context loop;
  DeferredReads::enable(loop);
  DeferredReads* batch = DeferredReads::of(loop.get_executor());
  std::vector<int> ran;
  batch->defer([&] {
    ran.push_back(1);
    batch->defer([&] { ran.push_back(3); });
  });
  // Work posted after the first start, before its turn ends, runs before the
  // start deferred from inside it.
  asio::post(loop, [&] { ran.push_back(2); });
  EXPECT_EQ(loop.run_one(), 1u);
  EXPECT_EQ(ran, (std::vector<int>{1}));
  loop.run();
  EXPECT_EQ(ran, (std::vector<int>{1, 2, 3}));
}

TEST(DeferredReads, ALoopNotOptedInHasNoBatchAndStartLaterPosts) {
  asio::io_context loop;
  EXPECT_EQ(DeferredReads::of(loop.get_executor()), nullptr);
  int ran = 0;
  start_later(nullptr, loop.get_executor(), [&] { ++ran; });
  start_later(nullptr, loop.get_executor(), [&] { ++ran; });
  EXPECT_EQ(ran, 0);
  EXPECT_EQ(loop.poll(), 2u);
  EXPECT_EQ(ran, 2);
}

TEST(DeferredReads, AStartFromAnotherThreadIsPostedNotBatched) {
  asio::io_context loop;
  DeferredReads::enable(loop);
  DeferredReads* batch = DeferredReads::of(loop.get_executor());
  EXPECT_FALSE(batch->on_loop_thread()) << "nothing runs the loop yet";
  int ran = 0;
  // Not from the loop's thread: two posts, not one batch (which would race
  // with the loop's own starts).
  start_later(batch, loop.get_executor(), [&] { ++ran; });
  start_later(batch, loop.get_executor(), [&] { ++ran; });
  EXPECT_EQ(loop.poll(), 2u);
  EXPECT_EQ(ran, 2);
  // From the loop's thread: batched.
  loop.restart();  // the poll above ran out of work, which stops the loop
  asio::post(loop, [&] {
    EXPECT_TRUE(batch->on_loop_thread());
    start_later(batch, loop.get_executor(), [&] { ++ran; });
    start_later(batch, loop.get_executor(), [&] { ++ran; });
  });
  EXPECT_EQ(loop.poll(), 2u);  // the post, then one batch of two
  EXPECT_EQ(ran, 4);
}

TEST(DeferredReads, ALoopDestroyedFirstReleasesWhatPendingStartsHold) {
  auto held = std::make_shared<int>(7);
  std::weak_ptr<int> watch = held;
  bool ran = false;
  {
    asio::io_context loop;
    DeferredReads::enable(loop);
    DeferredReads::of(loop.get_executor())->defer([held = std::move(held), &ran] { ran = true; });
  }
  EXPECT_FALSE(ran);
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace routing::rpc
