#pragma once
// Token buckets per system: `rate` calls per second on average, bursts of up
// to `burst`. Thread-safe; time is passed in so tests use a fake clock.
//
// Bounded: a bucket that has refilled to `burst` is the same as no bucket,
// so full ones are dropped whenever the map has doubled since the last
// pruning (amortised O(1) per call), and at the cap at most once a second;
// while `max_buckets` hold tokens below full, further names share one
// overflow bucket (limited together, never unlimited). docs/reliability.md, "Bounds".
#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace routing::proxy {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;
  static constexpr std::size_t default_max_buckets = 10000;

  // rate 0 disables limiting.
  RateLimiter(double rate, double burst, std::size_t max_buckets = default_max_buckets)
      : rate_(rate), burst_(burst > 0 ? burst : rate), max_buckets_(max_buckets), enabled_(rate > 0) {}

  bool enabled() const { return enabled_.load(std::memory_order_relaxed); }
  // A reload: new rate and burst from now on (buckets keep their tokens, up
  // to the new burst).
  void set_limits(double rate, double burst);
  // Takes a token for `system`; false when its bucket is empty.
  bool allow(const std::string& system, Clock::time_point now);
  std::size_t buckets() const;

 private:
  struct Bucket {
    double tokens;
    Clock::time_point refilled;
  };
  Bucket& bucket_for(const std::string& system, Clock::time_point now);
  void refill(Bucket& bucket, Clock::time_point now) const;
  void drop_full_buckets(Clock::time_point now);

  mutable std::mutex mutex_;
  double rate_;   // under mutex_
  double burst_;  // under mutex_
  std::size_t max_buckets_;
  std::atomic<bool> enabled_;  // rate_ > 0, read without the lock
  std::size_t prune_at_ = 1024;  // prune when the map reaches this size
  Clock::time_point pruned_at_{};
  std::unordered_map<std::string, Bucket> buckets_;
  Bucket overflow_{0, Clock::time_point{}};
  bool overflow_used_ = false;
};

}  // namespace routing::proxy
