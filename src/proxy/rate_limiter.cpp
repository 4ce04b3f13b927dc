#include "proxy/rate_limiter.h"

#include <algorithm>

namespace routing::proxy {

bool RateLimiter::allow(const std::string& system, Clock::time_point now) {
  if (!enabled()) return true;
  std::lock_guard lock(mutex_);
  auto [it, added] = buckets_.try_emplace(system, Bucket{burst_, now});
  Bucket& bucket = it->second;
  double elapsed = std::chrono::duration<double>(now - bucket.refilled).count();
  bucket.tokens = std::min(burst_, bucket.tokens + std::max(0.0, elapsed) * rate_);
  bucket.refilled = now;
  if (bucket.tokens < 1.0) return false;
  bucket.tokens -= 1.0;
  return true;
}

}  // namespace routing::proxy
