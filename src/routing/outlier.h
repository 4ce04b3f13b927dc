#pragma once
// Passive health of one backend: consecutive call failures (refused or
// broken connections) eject it for a time that grows with each ejection.
// Whether an ejection is allowed at all (the share of a system's backends
// already out) is the caller's decision. Not thread-safe; time passed in.
#include <chrono>
#include <cstdint>

namespace routing::core {

class OutlierState {
 public:
  using Clock = std::chrono::steady_clock;

  void on_success() { consecutive_failures_ = 0; }
  // Counts a failure; true when the backend has now failed `eject_after`
  // times in a row and is not ejected yet.
  bool on_failure(unsigned eject_after, Clock::time_point now) {
    ++consecutive_failures_;
    return consecutive_failures_ >= eject_after && !ejected(now);
  }
  // Ejects until now + base × (times ejected so far + 1), at most `max`.
  void eject(Clock::time_point now, std::chrono::milliseconds base, std::chrono::milliseconds max);

  bool ejected(Clock::time_point now) const { return now < ejected_until_; }
  Clock::time_point ejected_until() const { return ejected_until_; }
  std::uint64_t ejections() const { return ejections_; }
  std::uint64_t consecutive_failures() const { return consecutive_failures_; }

 private:
  std::uint64_t consecutive_failures_ = 0;
  std::uint64_t ejections_ = 0;
  Clock::time_point ejected_until_{};
};

}  // namespace routing::core
