#include "routing/retry_budget.h"

namespace routing::core {
namespace {

std::int64_t second_of(RetryBudget::Clock::time_point now) {
  return std::chrono::duration_cast<std::chrono::seconds>(now.time_since_epoch()).count();
}

}  // namespace

RetryBudget::Bucket& RetryBudget::bucket(std::int64_t second) {
  Bucket& slot = buckets_[static_cast<std::size_t>(second % window_seconds)];
  if (slot.second.load(std::memory_order_relaxed) != second) {  // a stale second: reuse the slot
    slot.calls.store(0, std::memory_order_relaxed);
    slot.retries.store(0, std::memory_order_relaxed);
    slot.second.store(second, std::memory_order_release);
  }
  return slot;
}

void RetryBudget::deposit(Clock::time_point now) {
  auto second = second_of(now);
  Bucket& slot = buckets_[static_cast<std::size_t>(second % window_seconds)];
  if (slot.second.load(std::memory_order_acquire) == second) {
    slot.calls.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  std::lock_guard lock(mutex_);
  bucket(second).calls.fetch_add(1, std::memory_order_relaxed);
}

bool RetryBudget::try_withdraw(Clock::time_point now) {
  std::lock_guard lock(mutex_);
  auto second = second_of(now);
  Bucket& current = bucket(second);
  std::uint64_t calls = 0, retries = 0;
  for (const auto& slot : buckets_) {
    auto at = slot.second.load(std::memory_order_relaxed);
    if (at > second - window_seconds && at <= second) {
      calls += slot.calls.load(std::memory_order_relaxed);
      retries += slot.retries.load(std::memory_order_relaxed);
    }
  }
  double allowed = ratio_ * static_cast<double>(calls) + double(min_per_second_) * window_seconds;
  if (static_cast<double>(retries) + 1 > allowed) return false;
  current.retries.fetch_add(1, std::memory_order_relaxed);
  return true;
}

}  // namespace routing::core
