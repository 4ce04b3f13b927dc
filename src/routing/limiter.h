#pragma once
// The seed's semaphore, done properly: at most `limit` permits out at once,
// a bounded FIFO queue of waiters behind them (full: refused at once), and a
// deadline on every wait. Waiters may sit on any executor; a released permit
// goes straight to the oldest waiter. Permits are RAII: every path gives
// them back.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

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

  mutable std::mutex mutex_;
  std::size_t limit_;
  std::size_t max_pending_;
  std::size_t in_use_ = 0;
  std::deque<std::shared_ptr<Waiter>> queue_;
};

}  // namespace routing::core
