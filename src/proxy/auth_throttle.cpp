#include "proxy/auth_throttle.h"

#include <algorithm>

namespace routing::proxy {

std::string AuthThrottle::key_of(const boost::asio::ip::address& source) {
  if (source.is_v6() && source.to_v6().is_v4_mapped()) {
    return key_of(boost::asio::ip::make_address_v4(boost::asio::ip::v4_mapped, source.to_v6()));
  }
  if (source.is_v4()) {
    auto bytes = source.to_v4().to_bytes();
    return std::string(bytes.begin(), bytes.end());
  }
  auto bytes = source.to_v6().to_bytes();
  return std::string(bytes.begin(), bytes.begin() + 8);  // the /64 prefix
}

void AuthThrottle::refill(Budget& budget, Clock::time_point now) const {
  double seconds = std::chrono::duration<double>(now - budget.refilled).count();
  if (seconds <= 0) return;
  budget.tokens = std::min(options_.failure_burst, budget.tokens + seconds * options_.failures_per_second);
  budget.refilled = now;
}

AuthThrottle::Budget& AuthThrottle::budget_of(const std::string& key, Clock::time_point now) {
  if (auto found = budgets_.find(key); found != budgets_.end()) {
    order_.splice(order_.end(), order_, found->second.in_order);  // now the most recent
    refill(found->second, now);
    return found->second;
  }
  if (budgets_.size() >= options_.max_addresses && !order_.empty()) {
    budgets_.erase(order_.front());
    order_.pop_front();
  }
  order_.push_back(key);
  return budgets_[key] = Budget{options_.failure_burst, now, std::prev(order_.end())};
}

AuthThrottle::Clock::duration AuthThrottle::wait_before_attempt(const boost::asio::ip::address& source,
                                                                Clock::time_point now) {
  if (options_.failures_per_second <= 0) return Clock::duration::zero();
  std::lock_guard lock(mutex_);
  auto found = budgets_.find(key_of(source));
  if (found == budgets_.end()) return Clock::duration::zero();
  Budget& budget = found->second;
  refill(budget, now);
  if (budget.tokens >= 1) return Clock::duration::zero();
  auto seconds = (1 - budget.tokens) / options_.failures_per_second;
  return std::chrono::ceil<Clock::duration>(std::chrono::duration<double>(seconds));
}

void AuthThrottle::record_failure(const boost::asio::ip::address& source, Clock::time_point now) {
  if (options_.failures_per_second <= 0) return;
  std::lock_guard lock(mutex_);
  Budget& budget = budget_of(key_of(source), now);
  budget.tokens = std::max(0.0, budget.tokens - 1);
}

std::size_t AuthThrottle::addresses() const {
  std::lock_guard lock(mutex_);
  return budgets_.size();
}

}  // namespace routing::proxy
