// One thread sleeps until another says "done": a futex word with three
// states, so the waker makes a system call only when the sleeper is really
// asleep, and the sleeper never spins or yields.
//
// Why not std::atomic::wait: libstdc++ 12 spins with sched_yield() before it
// sleeps. Under load a yielding thread can lose its CPU for milliseconds
// after its result is in; blocking calls handed to a worker had a p99 of
// 1.9 ms against 0.42 ms with this flag (docs/performance.md, issue 19).
#pragma once

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cstdint>

namespace routing::common {

class WakeFlag {
 public:
  // Before each use, by the sleeper (not while a waker may still set it).
  void reset() { state_.store(pending, std::memory_order_relaxed); }

  // By the sleeper: returns once set() has been called. Whatever the waker
  // wrote before set() is visible after it.
  void wait() {
    std::uint32_t expected = pending;
    if (state_.compare_exchange_strong(expected, asleep, std::memory_order_acquire)) {
      while (state_.load(std::memory_order_acquire) != done) {
        syscall(SYS_futex, &state_, FUTEX_WAIT_PRIVATE, asleep, nullptr, nullptr, 0);
      }
    }
  }

  // By the waker, once. The flag's memory is only named (not touched) after
  // the store, so the sleeper may return and reuse it meanwhile: a late wake
  // of a reused flag is spurious, and wait() sleeps again.
  void set() {
    if (state_.exchange(done, std::memory_order_acq_rel) == asleep) {
      syscall(SYS_futex, &state_, FUTEX_WAKE_PRIVATE, 1, nullptr, nullptr, 0);
    }
  }

 private:
  enum : std::uint32_t { pending, asleep, done };
  std::atomic<std::uint32_t> state_{pending};
};

}  // namespace routing::common
