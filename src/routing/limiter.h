#pragma once
// The seed's semaphore, done properly: at most `limit` permits out at once,
// a bounded FIFO queue of waiters behind them (full: refused at once), and a
// deadline on every wait. Waiters may sit on any executor; a released permit
// goes to the oldest waiter. Permits are RAII: every path gives them back.
//
// Taking and giving back a permit while nobody waits is lock-free (an atomic
// count): every call does both, from every thread. The mutex guards only the
// queue. No wake-up is lost: a waiter publishes itself (`waiting_`) before
// looking for a free slot once more, and a releaser frees its slot before
// looking for waiters, both sequentially consistent, so at least one of the
// two sees the other.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

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
  explicit Permit(ConcurrencyLimiter* owner) : owner_(owner) {}
  Permit(Permit&& other) noexcept : owner_(std::exchange(other.owner_, nullptr)) {}
  Permit& operator=(Permit&& other) noexcept;
  ~Permit() { release(); }
  explicit operator bool() const { return owner_ != nullptr; }
  void release();

 private:
  ConcurrencyLimiter* owner_ = nullptr;
};

class ConcurrencyLimiter {
 public:
  enum class Outcome { acquired, queue_full, timed_out };

  ConcurrencyLimiter(std::size_t limit, std::size_t max_pending);

  // Takes a permit if one is free and nobody waits for one; else false.
  bool try_acquire(Permit& permit);
  // Takes a permit, waiting (on the caller's executor) until one is free or
  // `deadline` passes. Does not allocate unless it has to wait.
  boost::asio::awaitable<Outcome> acquire(std::chrono::steady_clock::time_point deadline, Permit& permit);

  // Changes the limit (adaptive pools). Raising it grants queued waiters at
  // once; lowering it below the permits out lets them finish, and new ones
  // wait until the count is below the new limit.
  void set_limit(std::size_t limit);

  std::size_t in_use() const;
  std::size_t waiting() const;
  std::size_t limit() const;
  std::size_t max_pending() const;

 private:
  friend class Permit;
  struct Waiter {
    Waiter(boost::asio::any_io_executor ex, std::chrono::steady_clock::time_point deadline)
        : executor(ex), timer(ex, deadline) {}
    boost::asio::any_io_executor executor;
    boost::asio::steady_timer timer;
    bool granted = false;
  };
  void release_one();
  bool take_slot();             // one more in use, if below the limit
  void grant_waiters_locked();  // free slots to queued waiters, oldest first

  mutable std::mutex mutex_;
  std::atomic<std::size_t> limit_;
  std::size_t max_pending_;
  std::atomic<std::size_t> in_use_{0};
  std::atomic<std::size_t> waiting_{0};  // queue_.size(), published for the lock-free paths
  std::deque<std::shared_ptr<Waiter>> queue_;  // under mutex_
};

}  // namespace routing::core
