#pragma once
// Token buckets per system: `rate` calls per second on average, bursts of up
// to `burst`. Thread-safe; time is passed in so tests use a fake clock.
#include <chrono>
#include <mutex>
#include <string>
#include <unordered_map>

namespace routing::proxy {

class RateLimiter {
 public:
  using Clock = std::chrono::steady_clock;

  // rate 0 disables limiting.
  RateLimiter(double rate, double burst) : rate_(rate), burst_(burst > 0 ? burst : rate) {}

  bool enabled() const { return rate_ > 0; }
  // Takes a token for `system`; false when its bucket is empty.
  bool allow(const std::string& system, Clock::time_point now);

 private:
  struct Bucket {
    double tokens;
    Clock::time_point refilled;
  };
  std::mutex mutex_;
  double rate_;
  double burst_;
  std::unordered_map<std::string, Bucket> buckets_;
};

}  // namespace routing::proxy
