#pragma once
// Writes of one turn of a worker's loop, handed to their sockets together at
// the end of the turn, so that the peers (backends, clients) wake to bursts
// of work instead of single requests (why: docs/performance.md, item 19).
//
// A write waits only while more work is ready in this turn: on a quiet loop
// (the turn's only handler) it goes at once, so a lone call waits for
// nothing. The first write that waits queues one handler behind the turn's
// ready work; it sends them all, answers first, after the loop's next
// (non-blocking) epoll wait. Seeing the ready work takes the scheduler's
// private queue (rpc/asio_internals.h); where that is not available, every
// write waits for that handler.
//
// Only for loops that one thread runs (rpc::single_thread_loop): enable()
// opts a loop in; on any other loop (of() is nullptr), or from another
// thread, writes run at once.
#include "common/inplace_function.h"
#include "rpc/asio_fwd.h"
#include "rpc/asio_internals.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>

#include <memory>
#include <vector>

namespace routing::rpc {

// What a write carries; a turn's answers are sent before its requests.
enum class WriteKind { request = 0, answer = 1 };

class BatchedWrites final : public asio::execution_context::service {
 public:
  using Write = common::InplaceFunction<void(), 32>;
  static asio::execution_context::id id;

  explicit BatchedWrites(asio::execution_context& context);
  ~BatchedWrites() override;

  // Opts a loop in; call before the loop runs (once is enough).
  static void enable(asio::io_context& loop);
  // The loop's batch, or nullptr for a loop that was not opted in.
  static BatchedWrites* of(const asio::any_io_executor& executor);

  // Runs `write` with the turn's other writes, or at once when nothing else
  // is ready (then none waits: a waiting write keeps the flush queued, which
  // counts as ready work); at once from another thread or from inside a
  // waiting write.
  void write_soon(Write write, WriteKind kind);

  // Whether the loop has ready work queued besides its epoll wait (exposed
  // for the tests). Always true where Asio's queue cannot be inspected: every
  // write then waits for the turn's posted handler.
  bool more_ready_work() const;
  // Whether this Asio's queue can be inspected (rpc/asio_internals.h).
  static constexpr bool sees_turn_end = asio_internals::available;

 private:
  void shutdown() override;
  void run_due();
  void run_due(std::vector<Write>& due);
  struct FlushOperation;

  asio::io_context* loop_ = nullptr;
  boost::asio::detail::scheduler* scheduler_ = nullptr;  // the loop's, for more_ready_work
  std::vector<Write> due_[2];  // by WriteKind
  std::vector<Write> running_;
  std::unique_ptr<FlushOperation> flush_;  // runs the writes left at the end of a turn
  bool posted_ = false;    // flush_ is queued
  bool flushing_ = false;  // run_due is running the deferred writes
};

}  // namespace routing::rpc
