#pragma once
// A RouterCore on one event loop of the test's own, which a test can stop
// (to show that blocking calls need no loop); the loop runs again to stop
// the core.
#include "routing/router_core.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>

namespace routing::test {

class CoreOnAStoppableLoop {
 public:
  explicit CoreOnAStoppableLoop(const RouterOptions& options) : core_(options, {loop_.get_executor()}) {
    core_.start();
  }
  ~CoreOnAStoppableLoop() {
    if (!runner_.joinable()) {
      loop_.restart();
      runner_ = std::thread([this] { loop_.run(); });
    }
    core_.stop();
    guard_.reset();
    loop_.stop();
    runner_.join();
  }
  core::RouterCore& core() { return core_; }
  void stop_loop() {
    loop_.stop();
    runner_.join();
  }
  void restart_loop() {
    loop_.restart();
    runner_ = std::thread([this] { loop_.run(); });
  }

 private:
  boost::asio::io_context loop_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> guard_ = boost::asio::make_work_guard(loop_);
  std::thread runner_{[this] { loop_.run(); }};
  core::RouterCore core_;
};

}  // namespace routing::test
