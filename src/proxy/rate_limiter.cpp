#include "proxy/rate_limiter.h"

#include <algorithm>
#include <utility>

namespace routing::proxy {

void RateLimiter::refill(Bucket& bucket, Clock::time_point now) const {
  double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
  bucket.tokens = std::min(burst_, bucket.tokens + std::max(0.0, elapsed) * rate_);
  bucket.refilled = now;
}

void RateLimiter::drop_full_buckets(Clock::time_point now) {
  for (auto it = buckets_.begin(); it != buckets_.end();) {
    refill(it->second, now);
    it = it->second.tokens >= burst_ ? buckets_.erase(it) : std::next(it);
  }
  prune_at_ = std::max<std::size_t>(1024, 2 * buckets_.size());
  pruned_at_ = now;
}

RateLimiter::Bucket& RateLimiter::bucket_for(const std::string& system, Clock::time_point now) {
  if (auto it = buckets_.find(system); it != buckets_.end()) return it->second;
  // At the cap, pruned at most once a second: a scan per new name would
  // cost a call O(max_buckets).
  bool at_cap = buckets_.size() >= max_buckets_;
  if ((!at_cap && buckets_.size() >= prune_at_) || (at_cap && now - pruned_at_ >= std::chrono::seconds(1))) {
    drop_full_buckets(now);
  }
  if (buckets_.size() >= max_buckets_) {
    if (!std::exchange(overflow_used_, true)) overflow_ = Bucket{burst_, now};
    return overflow_;
  }
  return buckets_.try_emplace(system, Bucket{burst_, now}).first->second;
}

bool RateLimiter::allow(const std::string& system, Clock::time_point now) {
  if (!enabled()) return true;
  std::lock_guard lock(mutex_);
  Bucket& bucket = bucket_for(system, now);
  refill(bucket, now);
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

void RateLimiter::set_limits(double rate, double burst) {
  std::lock_guard lock(mutex_);
  rate_ = rate;
  burst_ = burst > 0 ? burst : rate;
  for (auto& [name, bucket] : buckets_) bucket.tokens = std::min(bucket.tokens, burst_);
  overflow_.tokens = std::min(overflow_.tokens, burst_);
  enabled_.store(rate > 0, std::memory_order_relaxed);
}

std::size_t RateLimiter::buckets() const {
  std::lock_guard lock(mutex_);
  return buckets_.size();
}

}  // namespace routing::proxy
