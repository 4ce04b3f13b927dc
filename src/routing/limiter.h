#pragma once
// The seed's semaphore, done properly: at most `limit` permits out at once,
// a bounded FIFO queue of waiters behind them (full: refused at once), and a
// deadline on every wait. Waiters of three kinds share one queue, served
// strictly in arrival order: event-loop waiters (woken by a post to their
// loop), blocking waiters (asleep on their own thread), and handed waiters
// (granted on the thread that frees the permit, which may start the waiting
// call for them: library mode's Router::call, routing/call/blocking_calls.cpp).
// Permits are RAII: every path gives them back.
//
// Taking and giving back a permit while nobody waits is lock-free (an atomic
// count): every call does both, from every thread. The mutex guards only the
// queue. No wake-up is lost: a waiter publishes itself (`waiting_`) before
// looking for a free slot once more, and a releaser frees its slot before
// looking for waiters, both sequentially consistent, so at least one of the
// two sees the other.
#include "common/inplace_function.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <array>
#include <atomic>
#include <chrono>
#include <deque>
#include <memory>
#include <mutex>

namespace routing::core {

class ConcurrencyLimiter;

class Permit {
 public:
  Permit() = default;
  Permit(Permit&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
  Permit& operator=(Permit&& other) noexcept;
  ~Permit() { release(); }
  explicit operator bool() const { return owner_ != nullptr; }
  void release();

 private:
  friend class ConcurrencyLimiter;
  explicit Permit(ConcurrencyLimiter* owner) : owner_(owner) {}
  ConcurrencyLimiter* owner_ = nullptr;
};

class ConcurrencyLimiter {
 public:
  enum class Outcome { acquired, queue_full, timed_out };
  // One queued wait (limiter.cpp: a loop's, a blocked thread's, a handed one).
  struct Waiter;
  using Clock = std::chrono::steady_clock;
  // Receives a queued wait's end; with `acquired`, the permit.
  using WaitDone = common::InplaceFunction<void(Outcome, Permit&), 64>;

  ConcurrencyLimiter(std::size_t limit, std::size_t max_pending);

  // Takes a permit if one is free and nobody waits for one; else false.
  bool try_acquire(Permit& permit);
  // Queues behind the waiters (after try_acquire failed): `done` runs on
  // `loop` once a permit is granted or `deadline` passes, or at once (inline)
  // with queue_full. Allocates one waiter. Call it on `loop`'s own thread:
  // the wait is armed after the waiter is queued, and a grant's wake-up
  // (posted to `loop`) must not run before it.
  // Returns the queued waiter (nullptr when the queue was full), for cut_short.
  std::shared_ptr<Waiter> acquire_then(Clock::time_point deadline, const boost::asio::any_io_executor& loop,
                                       WaitDone done);
  // Ends a queued acquire_then wait now, as if its deadline had passed (its
  // `done` runs from the loop, with timed_out, or acquired if a grant came
  // first). On that loop's thread.
  void cut_short(Waiter& waiter);
  // The same, waiting on the calling thread (a futex). Router::call waits
  // as a handed waiter instead (below); this is the plain blocking wait.
  Outcome acquire_blocking(Clock::time_point deadline, Permit& permit);
  // A blocking waiter that is handed its permit: `on_grant` runs on the
  // thread that grants it (after the lock is released), which may start the
  // waiting call for it. nullptr when the queue is full.
  using OnGrant = common::InplaceFunction<void(Permit&), 32>;
  std::shared_ptr<Waiter> enqueue_handed(OnGrant on_grant);
  // Withdraws a handed waiter at its deadline: true if it was still queued
  // (no grant will come), false if it was granted (on_grant runs or ran).
  bool cancel(const std::shared_ptr<Waiter>& waiter);
  // The same as a coroutine, resuming on the awaiting coroutine's executor.
  boost::asio::awaitable<Outcome> acquire(Clock::time_point deadline, Permit& permit);

  // Changes the limit (adaptive pools). Raising it grants queued waiters at
  // once; lowering it below the permits out lets them finish, and new ones
  // wait until the count is below the new limit.
  void set_limit(std::size_t limit);

  std::size_t in_use() const;
  std::size_t waiting() const;
  std::size_t limit() const;
  std::size_t max_pending() const;
  // A reload's new bound: waiters already queued past it keep their place.
  void set_max_pending(std::size_t max_pending);


 private:
  friend class Permit;
  // Waiters granted a permit under the lock, woken after it (a few at a
  // time: no allocation).
  struct Granted {
    std::array<std::shared_ptr<Waiter>, 8> waiters;
    std::size_t count = 0;
    bool full() const { return count == waiters.size(); }
  };
  // Queues `waiter` unless the queue is full; false if full.
  bool enqueue(const std::shared_ptr<Waiter>& waiter, Granted& granted);
  // enqueue under the lock, then wakes what it granted (possibly `waiter`).
  bool queue_up(const std::shared_ptr<Waiter>& waiter);
  struct HandedWaiter;
  Permit handed_permit();  // for a handed waiter granted a slot
  // Grants what it can and wakes those waiters, outside the lock.
  void grant_waiters();
  static void wake(Granted& granted);
  // A wait ended without a grant (its deadline): out of the queue, unless a
  // grant came first. True if it was granted after all.
  bool withdraw(const std::shared_ptr<Waiter>& waiter);
  void release_one();
  bool take_slot();             // one more in use, if below the limit
  void grant_waiters_locked(Granted& granted);  // free slots to queued waiters, oldest first

  mutable std::mutex mutex_;
  std::atomic<std::size_t> limit_;
  std::atomic<std::size_t> max_pending_;
  std::atomic<std::size_t> in_use_{0};
  std::atomic<std::size_t> waiting_{0};  // queue_.size(), published for the lock-free paths
  std::deque<std::shared_ptr<Waiter>> queue_;  // under mutex_
};

}  // namespace routing::core
