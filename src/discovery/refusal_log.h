#pragma once
// discoveryd's refusals (requests over its limits) in its log. A misbehaving
// client may cause thousands a second, so the first is logged at once and
// then at most one line per interval, with the count since the last line.
// discoveryd has no metrics endpoint: this log, and total(), are where the
// refusals show.
#include "common/log.h"

#include <chrono>
#include <cstdint>
#include <mutex>
#include <string_view>

namespace routing::discovery {

class RefusalLog {
 public:
  using Clock = std::chrono::steady_clock;
  explicit RefusalLog(Clock::duration interval = std::chrono::seconds(10)) : interval_(interval) {}

  // Counts one refusal; `reason` is logged if a line is due.
  void note(std::string_view reason) {
    std::lock_guard lock(mutex_);
    ++total_;
    ++unlogged_;
    auto now = Clock::now();
    if (now < next_line_) return;
    common::log().warn("refused {} request(s) over discoveryd's limits since the last such line; latest: {}",
                       unlogged_, reason);
    unlogged_ = 0;
    next_line_ = now + interval_;
  }

  std::uint64_t total() const {
    std::lock_guard lock(mutex_);
    return total_;
  }

 private:
  Clock::duration interval_;
  mutable std::mutex mutex_;
  std::uint64_t total_ = 0;
  std::uint64_t unlogged_ = 0;
  Clock::time_point next_line_{};
};

}  // namespace routing::discovery
