#pragma once
// Read starts deferred to a later turn of a worker loop, run together from
// one posted handler per turn.
//
// Connections start each read from a later turn of the loop (Asio tries the
// read at once when it starts, and right after an answer nothing has arrived
// yet: a wasted system call). A post per read start costs a queue operation,
// the loop's lock and often an allocation; with many connections busy, one
// turn of the loop starts dozens of reads. Here they share one post.
//
// Only for loops that one thread runs (rpc::single_thread_loop), where every
// connection's handlers run on that thread: enable() opts a loop in, and
// connections on other loops fall back to a post each (of() is nullptr).
#include "common/inplace_function.h"
#include "rpc/asio_fwd.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <vector>

namespace routing::rpc {

class DeferredReads final : public asio::execution_context::service {
 public:
  using Start = common::InplaceFunction<void(), 32>;
  static asio::execution_context::id id;

  explicit DeferredReads(asio::execution_context& context);

  // Opts a loop in; call before the loop runs (once is enough).
  static void enable(asio::io_context& loop);
  // The loop's batch, or nullptr for a loop that was not opted in.
  static DeferredReads* of(const asio::any_io_executor& executor);

  // Runs `start` from a later turn of the loop. On the loop's thread only.
  void defer(Start start);
  // Whether the calling thread is running this loop (defer is allowed).
  bool on_loop_thread() const { return loop_->get_executor().running_in_this_thread(); }

 private:
  void shutdown() override;
  void run_due();

  asio::io_context* loop_ = nullptr;
  std::vector<Start> due_;
  std::vector<Start> running_;
  bool posted_ = false;
};

// `start` from a later turn of the executor's loop: batched when the loop
// has a DeferredReads (`batch`) and this is its thread, posted on its own
// otherwise.
template <class Start>
void start_later(DeferredReads* batch, const asio::any_io_executor& executor, Start&& start);

}  // namespace routing::rpc

#include <boost/asio/post.hpp>

namespace routing::rpc {

template <class Start>
void start_later(DeferredReads* batch, const asio::any_io_executor& executor, Start&& start) {
  if (batch != nullptr && batch->on_loop_thread()) return batch->defer(std::forward<Start>(start));
  asio::post(executor, std::forward<Start>(start));
}

}  // namespace routing::rpc
