#pragma once
// Writes of one turn of a worker loop, handed to their sockets together at
// the end of the turn.
//
// One epoll wait reports many sockets ready (about thirty at 16 busy
// connections); each ready read usually produces a write (a request for a
// backend, an answer for a client). Sent as they come, those sends are spread
// over the turn, and each wakes its peer (echod, a client thread) to a single
// request. Sent together once the turn's ready work is done, the peers wake
// to a burst of work they handle in fewer, fuller turns of their own, and
// this loop's reads and its writes each run back to back (measured in
// docs/performance.md, item 19: more calls/s at less CPU per call, for
// routerd and for the backend behind it).
//
// A write waits only while more work is ready in this turn: on a quiet loop
// (the turn's only handler) it goes at once, so a lone call waits for
// nothing. The first write that waits queues one handler behind the turn's
// ready work; it sends them all, answers first, after the loop's next
// (non-blocking) epoll wait. Measured against sending at the turn's last
// handler, before that wait: the wait then comes right after the sends and
// finds little, so turns get shorter and dearer; and answers first let the
// clients send their next calls while the backends work (docs/performance.md,
// item 19).
//
// Only for loops that one thread runs (rpc::single_thread_loop): enable()
// opts a loop in; on any other loop (of() is nullptr), or from another
// thread, writes run at once.
#include "common/inplace_function.h"
#include "rpc/asio_fwd.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/version.hpp>

#include <memory>
#include <vector>

namespace boost::asio::detail {
class scheduler;
}

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
  // Whether this Asio's queue can be inspected: the scheduler's layout was
  // checked for Asio 1.26 only (batched_writes.cpp reaches private members).
  static constexpr bool sees_turn_end = BOOST_ASIO_VERSION == 102600;

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
