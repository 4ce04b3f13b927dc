#pragma once
// A background event loop for a program's own chores (lease expiry,
// registration, discovery watches), apart from the server's worker loops.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>

namespace routing::app {

class ControlLoop {
 public:
  ControlLoop() : thread_([this] { ctx_.run(); }) {}
  ~ControlLoop() { stop(); }
  ControlLoop(const ControlLoop&) = delete;
  ControlLoop& operator=(const ControlLoop&) = delete;

  boost::asio::any_io_executor executor() { return ctx_.get_executor(); }
  boost::asio::io_context& context() { return ctx_; }

  // Stops the loop, abandoning whatever still runs on it, and joins.
  void stop() {
    guard_.reset();
    ctx_.stop();
    if (thread_.joinable()) thread_.join();
  }

 private:
  boost::asio::io_context ctx_{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_{ctx_.get_executor()};
  std::thread thread_;
};

}  // namespace routing::app
