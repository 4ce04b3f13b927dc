#include "rpc/accept_backoff.h"

#include "common/log.h"

#include <boost/asio/steady_timer.hpp>

namespace routing::rpc {

AcceptBackoff::AcceptBackoff(std::string listener) : listener_(std::move(listener)) {}

asio::awaitable<void> AcceptBackoff::pause_after(error_code ec, asio::any_io_executor executor) {
  errors_.fetch_add(1, std::memory_order_relaxed);
  // One line per streak: a listener out of descriptors would otherwise log
  // at every pause, for as long as the shortage lasts.
  if (streak_++ == 0) {
    common::log().warn("{} listener: accept failed: {}; pausing accepts ({} ms doubling to {} ms)", listener_,
                       ec.message(), first_pause.count(),
                       std::chrono::duration_cast<std::chrono::milliseconds>(longest_pause).count());
  }
  asio::steady_timer pause(executor, backoff_.next());
  co_await pause.async_wait(use_nothrow);
}

void AcceptBackoff::succeeded() {
  if (streak_ == 0) return;
  common::log().info("{} listener: accepting again after {} failed accept(s)", listener_, streak_);
  streak_ = 0;
  backoff_.reset();
}

}  // namespace routing::rpc
