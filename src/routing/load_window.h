#pragma once
// What a backend's calls did since the adaptive limit last looked: counted
// by every worker with relaxed atomics (a few adds per call), taken and
// reset by the limits loop once per window.
#include "routing/adaptive_limit.h"

#include <atomic>
#include <chrono>

namespace routing::core {

class LoadWindow {
 public:
  // A call was sent; `in_flight` counts it, `limit` is the backend's limit.
  void arrived(std::size_t in_flight, std::size_t limit) {
    arrivals_.fetch_add(1, std::memory_order_relaxed);
    if (in_flight >= limit && !reached_limit_.load(std::memory_order_relaxed)) {
      reached_limit_.store(true, std::memory_order_relaxed);
    }
  }
  void completed(std::chrono::nanoseconds latency) {
    completions_.fetch_add(1, std::memory_order_relaxed);
    latency_ns_.fetch_add(static_cast<std::uint64_t>(latency.count()), std::memory_order_relaxed);
  }
  // The counts since the last take, as a window of `length`; starts a new one.
  AdaptiveLimit::Window take(std::chrono::nanoseconds length) {
    AdaptiveLimit::Window window;
    window.length = length;
    window.arrivals = arrivals_.exchange(0, std::memory_order_relaxed);
    window.completions = completions_.exchange(0, std::memory_order_relaxed);
    window.latency_sum = std::chrono::nanoseconds(latency_ns_.exchange(0, std::memory_order_relaxed));
    window.reached_limit = reached_limit_.exchange(false, std::memory_order_relaxed);
    return window;
  }

 private:
  std::atomic<std::uint64_t> arrivals_{0};
  std::atomic<std::uint64_t> completions_{0};
  std::atomic<std::uint64_t> latency_ns_{0};
  std::atomic<bool> reached_limit_{false};
};

}  // namespace routing::core
