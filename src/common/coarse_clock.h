#pragma once
// steady_clock's time to within a scheduler tick (a few ms), for bookkeeping
// that counts in tens of milliseconds or more (idle timeouts). On Linux
// steady_clock is CLOCK_MONOTONIC; its coarse variant is the same clock as
// last updated by the kernel's tick, read without the hardware clock, which
// on a paravirtualized VM is the dear part of a clock read (measured: a
// dozen precise reads were ~1.5% of routerd's CPU per routed call).
#include <chrono>
#include <ctime>

namespace routing::common {

inline std::chrono::steady_clock::time_point coarse_now() noexcept {
#ifdef CLOCK_MONOTONIC_COARSE
  timespec now{};
  if (::clock_gettime(CLOCK_MONOTONIC_COARSE, &now) == 0) {
    return std::chrono::steady_clock::time_point(
        std::chrono::duration_cast<std::chrono::steady_clock::duration>(std::chrono::seconds(now.tv_sec) +
                                                                         std::chrono::nanoseconds(now.tv_nsec)));
  }
#endif
  return std::chrono::steady_clock::now();
}

}  // namespace routing::common
