#pragma once
// A fixed-bucket latency histogram with atomic counters: recording is a few
// relaxed increments, safe from any thread.
#include <routing/stats.h>

#include <array>
#include <atomic>
#include <chrono>

namespace routing::core {

class Histogram {
 public:
  static constexpr std::array<double, 16> bounds{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005,
                                                 0.01,   0.025,   0.05,   0.1,   0.25,   0.5,
                                                 1,      2.5,     5,      10};

  void record(std::chrono::nanoseconds elapsed) {
    double seconds = std::chrono::duration<double>(elapsed).count();
    std::size_t i = 0;
    while (i < bounds.size() && seconds > bounds[i]) ++i;
    counts_[i].fetch_add(1, std::memory_order_relaxed);
    sum_ns_.fetch_add(static_cast<std::uint64_t>(elapsed.count()), std::memory_order_relaxed);
  }

  LatencyHistogram snapshot() const {
    LatencyHistogram out;
    out.bounds_seconds.assign(bounds.begin(), bounds.end());
    for (const auto& count : counts_) {
      out.counts.push_back(count.load(std::memory_order_relaxed));
      out.count += out.counts.back();
    }
    out.sum_seconds = static_cast<double>(sum_ns_.load(std::memory_order_relaxed)) / 1e9;
    return out;
  }

 private:
  std::array<std::atomic<std::uint64_t>, bounds.size() + 1> counts_{};
  std::atomic<std::uint64_t> sum_ns_{0};
};

// Calls counted by status code: the named codes 0..16 in slots, others in one.
class StatusCounters {
 public:
  void add(int status) {
    std::size_t slot = status >= 0 && status <= 16 ? static_cast<std::size_t>(status) : 17;
    counts_[slot].fetch_add(1, std::memory_order_relaxed);
  }
  std::map<int, std::uint64_t> snapshot() const {
    std::map<int, std::uint64_t> out;
    for (std::size_t i = 0; i < counts_.size(); ++i) {
      if (auto n = counts_[i].load(std::memory_order_relaxed)) out[i == 17 ? -1 : static_cast<int>(i)] = n;
    }
    return out;
  }

 private:
  std::array<std::atomic<std::uint64_t>, 18> counts_{};
};

}  // namespace routing::core
