#pragma once
// A loop (an io_context that exactly one thread runs) together with that
// thread: what a server's or router's worker, a program's control loop and
// ProxyClient each run on. Written once so that starting one, keeping it
// alive while idle, and the two ways of ending it (let it run out of work, or
// abandon what is queued) read the same everywhere.
#include "rpc/asio_fwd.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <chrono>
#include <thread>

namespace routing::rpc {

struct LoopOptions {
  // A worker's loop (a server's or a router's): its sockets are used only on
  // its thread, so it runs without the reactor's per-socket locks
  // (rpc::single_thread_loop) and sends a turn's writes together
  // (rpc::BatchedWrites). Otherwise a plain loop with Asio's one-thread hint.
  bool worker = false;
  // An exception thrown out of a handler is logged and ends the loop (the
  // thread returns; what is queued is abandoned). Otherwise it ends the
  // program, as any exception that leaves a thread.
  bool log_failure = false;
};

class LoopThread {
 public:
  // Starts the thread: the loop runs, waiting for work, until released or
  // stopped.
  explicit LoopThread(LoopOptions options = {});
  // stop(): whatever is still queued is abandoned.
  ~LoopThread();
  LoopThread(const LoopThread&) = delete;
  LoopThread& operator=(const LoopThread&) = delete;

  asio::any_io_executor executor() { return loop_.get_executor(); }
  asio::io_context& context() { return loop_; }

  // Lets the loop end once it runs out of work; the thread then returns.
  // From any one thread at a time (its own included).
  void release();
  // Ends the loop after the handler running now, abandoning what is queued,
  // and waits for the thread. Not from the loop's own thread: there, call
  // context().stop().
  void stop();
  // Waits for the thread to return (after release() or a stop). Not from the
  // loop's own thread.
  void join();
  // release(), then waits until the loop runs out of work or `deadline`
  // passes, then stop(). Whether it ran out of work in time.
  bool finish_by(std::chrono::steady_clock::time_point deadline);

 private:
  void run(LoopOptions options);

  asio::io_context loop_;
  asio::executor_work_guard<asio::io_context::executor_type> keep_running_{loop_.get_executor()};
  std::thread thread_;
};

}  // namespace routing::rpc
