#include "routing/limiter.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace routing::core {
namespace asio = boost::asio;

// `granted` is written under the limiter's mutex; wake() runs after it is
// unlocked (the woken thread should not find the lock still held).
struct ConcurrencyLimiter::Waiter {
  virtual ~Waiter() = default;
  // `self` is the granter's reference, handed over: a loop waiter's must not
  // outlive its loop on the granter's thread (its timer belongs to the loop).
  virtual void wake(std::shared_ptr<Waiter> self) = 0;
  bool granted = false;
};

namespace {

// Sleeps on its loop's timer until granted (the grant cancels the timer, by
// a post: the timer belongs to that loop) or its deadline.
struct LoopWaiter final : ConcurrencyLimiter::Waiter {
  LoopWaiter(const asio::any_io_executor& loop, ConcurrencyLimiter::Clock::time_point deadline,
             ConcurrencyLimiter::WaitDone done)
      : timer(loop, deadline), done(std::move(done)) {}
  void wake(std::shared_ptr<Waiter> self) override {
    asio::post(timer.get_executor(), [self = std::move(self), this] { timer.cancel(); });
  }
  asio::steady_timer timer;
  ConcurrencyLimiter::WaitDone done;
};

// Sleeps on the calling thread on a futex of its own: woken without taking
// any lock (a condition variable's waiter would first have to take the
// limiter's mutex back from the thread that woke it). docs/performance.md
// has the measurement.
struct BlockedWaiter final : ConcurrencyLimiter::Waiter {
  void wake(std::shared_ptr<Waiter>) override {
    signalled.store(1, std::memory_order_release);
    ::syscall(SYS_futex, &signalled, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
  }
  // True once woken; false when `deadline` passed first.
  bool sleep_until(ConcurrencyLimiter::Clock::time_point deadline) {
    while (signalled.load(std::memory_order_acquire) == 0) {
      auto left = deadline - ConcurrencyLimiter::Clock::now();
      if (left <= ConcurrencyLimiter::Clock::duration::zero()) return false;
      auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
      timespec timeout{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
      ::syscall(SYS_futex, &signalled, FUTEX_WAIT_PRIVATE, 0, &timeout, nullptr, 0);
    }
    return true;
  }
  std::atomic<std::uint32_t> signalled{0};
};

}  // namespace

// Granted on the granter's thread: it is handed the permit at once.
struct ConcurrencyLimiter::HandedWaiter final : ConcurrencyLimiter::Waiter {
  HandedWaiter(ConcurrencyLimiter* owner, ConcurrencyLimiter::OnGrant on_grant)
      : owner(owner), on_grant(std::move(on_grant)) {}
  void wake(std::shared_ptr<Waiter>) override;
  ConcurrencyLimiter* owner;
  ConcurrencyLimiter::OnGrant on_grant;
};

void ConcurrencyLimiter::HandedWaiter::wake(std::shared_ptr<Waiter>) {
  Permit permit = owner->handed_permit();
  on_grant(permit);
}

Permit ConcurrencyLimiter::handed_permit() { return Permit(this); }

bool ConcurrencyLimiter::queue_up(const std::shared_ptr<Waiter>& waiter) {
  Granted granted;
  bool queued;
  {
    std::lock_guard lock(mutex_);
    queued = enqueue(waiter, granted);
  }
  bool more = granted.full();
  wake(granted);
  if (more) grant_waiters();
  return queued;
}

std::shared_ptr<ConcurrencyLimiter::Waiter> ConcurrencyLimiter::enqueue_handed(OnGrant on_grant) {
  auto waiter = std::make_shared<HandedWaiter>(this, std::move(on_grant));
  return queue_up(waiter) ? waiter : nullptr;
}

bool ConcurrencyLimiter::cancel(const std::shared_ptr<Waiter>& waiter) {
  std::lock_guard lock(mutex_);
  return !withdraw(waiter);
}

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

bool ConcurrencyLimiter::enqueue(const std::shared_ptr<Waiter>& waiter, Granted& granted) {
  if (queue_.size() >= max_pending_.load(std::memory_order_relaxed)) return false;
  queue_.push_back(waiter);
  waiting_.store(queue_.size());
  // A permit given back since try_acquire did not see this waiter: look again.
  grant_waiters_locked(granted);
  return true;
}

void ConcurrencyLimiter::wake(Granted& granted) {
  for (std::size_t i = 0; i < granted.count; ++i) {
    Waiter& waiter = *granted.waiters[i];
    waiter.wake(std::move(granted.waiters[i]));
  }
  granted.count = 0;
}

void ConcurrencyLimiter::grant_waiters() {
  for (bool more = true; more;) {
    Granted granted;
    {
      std::lock_guard lock(mutex_);
      grant_waiters_locked(granted);
    }
    more = granted.full();
    wake(granted);
  }
}

bool ConcurrencyLimiter::withdraw(const std::shared_ptr<Waiter>& waiter) {
  if (waiter->granted) return true;
  queue_.erase(std::find(queue_.begin(), queue_.end(), waiter));
  waiting_.store(queue_.size());
  return false;
}

std::shared_ptr<ConcurrencyLimiter::Waiter> ConcurrencyLimiter::acquire_then(Clock::time_point deadline,
                                                                             const asio::any_io_executor& loop,
                                                                             WaitDone done) {
  auto waiter = std::make_shared<LoopWaiter>(loop, deadline, std::move(done));
  if (!queue_up(waiter)) {
    Permit none;
    waiter->done(Outcome::queue_full, none);
    return nullptr;
  }
  waiter->timer.async_wait([this, waiter](const boost::system::error_code&) {
    bool granted;
    {
      std::lock_guard lock(mutex_);
      granted = withdraw(waiter);
    }
    Permit permit = granted ? Permit(this) : Permit();
    waiter->done(granted ? Outcome::acquired : Outcome::timed_out, permit);
  });
  return waiter;
}

void ConcurrencyLimiter::cut_short(Waiter& waiter) {
  static_cast<LoopWaiter&>(waiter).timer.cancel();
}

ConcurrencyLimiter::Outcome ConcurrencyLimiter::acquire_blocking(Clock::time_point deadline, Permit& permit) {
  if (try_acquire(permit)) return Outcome::acquired;
  auto waiter = std::make_shared<BlockedWaiter>();
  if (!queue_up(waiter)) return Outcome::queue_full;
  if (!waiter->sleep_until(deadline)) {
    std::lock_guard lock(mutex_);
    if (!withdraw(waiter)) return Outcome::timed_out;
  }
  permit = Permit(this);
  return Outcome::acquired;
}

asio::awaitable<ConcurrencyLimiter::Outcome> ConcurrencyLimiter::acquire(Clock::time_point deadline, Permit& permit) {
  if (try_acquire(permit)) co_return Outcome::acquired;
  auto executor = co_await asio::this_coro::executor;
  auto token = asio::as_tuple(asio::use_awaitable);
  auto [outcome, granted] = co_await asio::async_initiate<decltype(token), void(Outcome, Permit)>(
      [this, deadline, executor](auto handler) {
        acquire_then(deadline, executor,
                     [handler = std::make_unique<decltype(handler)>(std::move(handler)), executor](
                         Outcome outcome, Permit& granted) mutable {
                       // Posted: queue_full completes inside acquire_then.
                       asio::post(executor, [handler = std::move(handler), outcome,
                                             granted = std::move(granted)]() mutable {
                         std::move (*handler)(outcome, std::move(granted));
                       });
                     });
      },
      token);
  permit = std::move(granted);
  co_return outcome;
}

void ConcurrencyLimiter::grant_waiters_locked(Granted& granted) {
  while (!granted.full() && !queue_.empty() && take_slot()) {
    auto waiter = std::move(queue_.front());
    queue_.pop_front();
    waiting_.store(queue_.size());
    waiter->granted = true;
    granted.waiters[granted.count++] = std::move(waiter);
  }
}

void ConcurrencyLimiter::release_one() {
  in_use_.fetch_sub(1);
  if (waiting_.load() == 0) return;
  grant_waiters();
}

std::size_t ConcurrencyLimiter::in_use() const { return in_use_.load(); }

std::size_t ConcurrencyLimiter::waiting() const { return waiting_.load(); }

void ConcurrencyLimiter::set_limit(std::size_t limit) {
  if (limit_.exchange(limit) >= limit || waiting_.load() == 0) return;
  grant_waiters();
}

std::size_t ConcurrencyLimiter::limit() const { return limit_.load(std::memory_order_relaxed); }
std::size_t ConcurrencyLimiter::max_pending() const { return max_pending_.load(std::memory_order_relaxed); }
void ConcurrencyLimiter::set_max_pending(std::size_t max_pending) { max_pending_.store(max_pending); }

}  // namespace routing::core
