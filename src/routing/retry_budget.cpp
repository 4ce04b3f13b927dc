#include "routing/retry_budget.h"

namespace routing::core {

RetryBudget::Bucket& RetryBudget::bucket(Clock::time_point now) {
  auto second = std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
  Bucket& slot = buckets_[static_cast<std::size_t>(second % window_seconds)];
  if (slot.second != second) slot = Bucket{second, 0, 0};  // a stale second: reuse the slot
  return slot;
}

void RetryBudget::deposit(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  ++bucket(now).calls;
}

bool RetryBudget::try_withdraw(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  Bucket& current = bucket(now);
  auto second = current.second;
  std::uint64_t calls = 0, retries = 0;
  for (const auto& slot : buckets_) {
    if (slot.second > second - window_seconds && slot.second <= second) {
      calls += slot.calls;
      retries += slot.retries;
    }
  }
  double allowed = ratio_ * static_cast<double>(calls) + double(min_per_second_) * window_seconds;
  if (static_cast<double>(retries) + 1 > allowed) return false;
  ++current.retries;
  return true;
}

}  // namespace routing::core
