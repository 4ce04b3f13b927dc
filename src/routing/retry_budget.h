#pragma once
// A retry budget (as in Finagle): over a sliding window, retries may add at
// most `ratio` of the calls made plus `min_per_second` per second, so that
// during an outage retries cannot multiply the load on the backends.
// Thread-safe. Time is passed in, so tests use a fake clock.
#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>

namespace routing::core {

class RetryBudget {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr int window_seconds = 10;

  RetryBudget(double ratio, unsigned min_per_second) : ratio_(ratio), min_per_second_(min_per_second) {}

  // Every first attempt of a call deposits.
  void deposit(Clock::time_point now);
  // A retry asks; true (and the retry is counted) if the budget allows it.
  bool try_withdraw(Clock::time_point now);

 private:
  // Deposits of the current second only add to `calls` (no lock: every
  // call deposits, from every thread); a bucket is reset, and retries are
  // counted, under the mutex.
  struct Bucket {
    std::atomic<std::int64_t> second{-1};
    std::atomic<std::uint64_t> calls{0};
    std::atomic<std::uint64_t> retries{0};
  };
  Bucket& bucket(std::int64_t second);  // under mutex_

  std::mutex mutex_;
  double ratio_;
  unsigned min_per_second_;
  std::array<Bucket, window_seconds> buckets_{};
};

}  // namespace routing::core
