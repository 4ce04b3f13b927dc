#pragma once
// A warning that a misbehaving peer could cause thousands of times a second
// (refused requests, failed TLS handshakes): the first is logged at once, then
// at most one line per interval, with the count since the last line.
#include "common/log.h"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <string_view>

namespace routing::common {

class ThrottledLog {
 public:
  using Clock = std::chrono::steady_clock;
  // `what`: the line's subject, e.g. "refused request(s) over discoveryd's limits".
  ThrottledLog(std::string what, Clock::duration interval) : what_(std::move(what)), interval_(interval) {}

  // Counts one event; `detail` is logged if a line is due.
  void note(std::string_view detail) {
    std::lock_guard lock(mutex_);
    ++total_;
    ++unlogged_;
    auto now = Clock::now();
    if (now < next_line_) return;
    log().warn("{} {} since the last such line; latest: {}", unlogged_, what_, detail);
    unlogged_ = 0;
    next_line_ = now + interval_;
  }

  std::uint64_t total() const {
    std::lock_guard lock(mutex_);
    return total_;
  }

 private:
  std::string what_;
  Clock::duration interval_;
  mutable std::mutex mutex_;
  std::uint64_t total_ = 0;
  std::uint64_t unlogged_ = 0;
  Clock::time_point next_line_{};
};

}  // namespace routing::common
