#include "routing/limiter.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>

namespace routing::core {
namespace asio = boost::asio;

Permit& Permit::operator=(Permit&& other) noexcept {
  if (this != &other) {
    release();
    owner_ = std::exchange(other.owner_, nullptr);
  }
  return *this;
}

void Permit::release() {
  if (auto* owner = std::exchange(owner_, nullptr)) owner->release_one();
}

ConcurrencyLimiter::ConcurrencyLimiter(std::size_t limit, std::size_t max_pending)
    : limit_(limit), max_pending_(max_pending) {}

bool ConcurrencyLimiter::try_acquire(Permit& permit) {
  std::lock_guard lock(mutex_);
  if (in_use_ >= limit_ || !queue_.empty()) return false;
  ++in_use_;
  permit = Permit(this);
  return true;
}

asio::awaitable<ConcurrencyLimiter::Outcome> ConcurrencyLimiter::acquire(
    std::chrono::steady_clock::time_point deadline, Permit& permit) {
  std::shared_ptr<Waiter> waiter;
  {
    std::lock_guard lock(mutex_);
    if (in_use_ < limit_ && queue_.empty()) {
      ++in_use_;
      permit = Permit(this);
      co_return Outcome::acquired;
    }
    if (queue_.size() >= max_pending_) co_return Outcome::queue_full;
    auto executor = co_await asio::this_coro::executor;
    waiter = std::make_shared<Waiter>(executor, deadline);
    queue_.push_back(waiter);
  }
  // Woken by release_one() (a cancel posted to our executor) or the deadline.
  co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(mutex_);
  if (waiter->granted) {
    permit = Permit(this);
    co_return Outcome::acquired;
  }
  queue_.erase(std::find(queue_.begin(), queue_.end(), waiter));
  co_return Outcome::timed_out;
}

void ConcurrencyLimiter::release_one() {
  std::lock_guard lock(mutex_);
  if (queue_.empty()) {
    --in_use_;
    return;
  }
  // Hand the permit over: in_use_ stays, the oldest waiter owns it now.
  auto waiter = std::move(queue_.front());
  queue_.pop_front();
  waiter->granted = true;
  asio::post(waiter->executor, [waiter] { waiter->timer.cancel(); });
}

std::size_t ConcurrencyLimiter::in_use() const {
  std::lock_guard lock(mutex_);
  return in_use_;
}

std::size_t ConcurrencyLimiter::waiting() const {
  std::lock_guard lock(mutex_);
  return queue_.size();
}

std::size_t ConcurrencyLimiter::limit() const { return limit_; }
std::size_t ConcurrencyLimiter::max_pending() const { return max_pending_; }

}  // namespace routing::core
