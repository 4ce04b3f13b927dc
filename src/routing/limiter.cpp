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

bool ConcurrencyLimiter::take_slot() {
  auto n = in_use_.load();
  while (n < limit_.load(std::memory_order_relaxed)) {
    if (in_use_.compare_exchange_weak(n, n + 1)) return true;
  }
  return false;
}

bool ConcurrencyLimiter::try_acquire(Permit& permit) {
  if (waiting_.load() != 0) return false;  // first come, first served: nobody jumps the queue
  if (!take_slot()) return false;
  permit = Permit(this);
  return true;
}

asio::awaitable<ConcurrencyLimiter::Outcome> ConcurrencyLimiter::acquire(
    std::chrono::steady_clock::time_point deadline, Permit& permit) {
  if (try_acquire(permit)) co_return Outcome::acquired;
  std::shared_ptr<Waiter> waiter;
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= max_pending_) co_return Outcome::queue_full;
    auto executor = co_await asio::this_coro::executor;
    waiter = std::make_shared<Waiter>(executor, deadline);
    queue_.push_back(waiter);
    waiting_.store(queue_.size());
    // A permit given back since try_acquire did not see this waiter: look again.
    grant_waiters_locked();
  }
  // Woken by a grant (a cancel posted to our executor) or the deadline.
  co_await waiter->timer.async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(mutex_);
  if (waiter->granted) {
    permit = Permit(this);
    co_return Outcome::acquired;
  }
  queue_.erase(std::find(queue_.begin(), queue_.end(), waiter));
  waiting_.store(queue_.size());
  co_return Outcome::timed_out;
}

void ConcurrencyLimiter::grant_waiters_locked() {
  while (!queue_.empty() && take_slot()) {
    auto waiter = std::move(queue_.front());
    queue_.pop_front();
    waiting_.store(queue_.size());
    waiter->granted = true;
    asio::post(waiter->executor, [waiter] { waiter->timer.cancel(); });
  }
}

void ConcurrencyLimiter::release_one() {
  in_use_.fetch_sub(1);
  if (waiting_.load() == 0) return;
  std::lock_guard lock(mutex_);
  grant_waiters_locked();
}

std::size_t ConcurrencyLimiter::in_use() const { return in_use_.load(); }

std::size_t ConcurrencyLimiter::waiting() const { return waiting_.load(); }

void ConcurrencyLimiter::set_limit(std::size_t limit) {
  if (limit_.exchange(limit) >= limit || waiting_.load() == 0) return;
  std::lock_guard lock(mutex_);
  grant_waiters_locked();
}

std::size_t ConcurrencyLimiter::limit() const { return limit_.load(std::memory_order_relaxed); }
std::size_t ConcurrencyLimiter::max_pending() const { return max_pending_; }

}  // namespace routing::core
