#pragma once
// Early shedding (issue 27, docs/adaptive.md "Overload"): a call that finds
// every permit of its system taken joins the queue only if it can expect
// its turn, and its answer, before its deadline. Otherwise it is refused at
// once with 8 instead of waiting for a permit it would get too late: under
// overload a FIFO queue of calls whose deadlines will pass anyway makes every
// admitted call wait behind them, and goodput collapses (measured: 38 of 500
// calls/s at twice the pool's capacity).
//
// The queue moves one place each time a permit comes back; with `limit`
// permits each held for `mean_hold` on average, a call joining behind
// `waiting` others expects its permit after (waiting + 1) × mean_hold / limit
// and its answer a mean_hold later. The mean hold is learned from every call
// (a moving average); until one has ended, every call is admitted.
//
// Shared by every mode: CallFlow asks it (routing/call/call_flow_impl.h).
// Times are arguments, never read here: tests drive it with a fake clock.
#include "routing/histogram.h"

#include <atomic>
#include <chrono>
#include <cstdint>
#include <optional>

namespace routing::core {

class QueueAdmission {
 public:
  using Clock = std::chrono::steady_clock;

  // A call held its permit this long (from its permit to its end).
  // `cut_short`: its deadline ended it, so it would have held the permit
  // longer: counted as at least the mean (else calls sent late, ending at
  // their deadlines within a few ms, would teach that calls are quick, and
  // admit more calls that are late in turn).
  void note_hold(Clock::duration held, bool cut_short = false) {
    const auto old = mean_hold_.load(std::memory_order_relaxed);
    const auto sample = std::max<std::int64_t>(cut_short ? std::max(held.count(), old) : held.count(), 1);
    // Racing writers may lose a sample: a moving average does not mind.
    mean_hold_.store(old == 0 ? sample : old + (sample - old) / hold_weight, std::memory_order_relaxed);
  }
  Clock::duration mean_hold() const { return Clock::duration(mean_hold_.load(std::memory_order_relaxed)); }

  // When a call that joins the queue behind `waiting` others expects its
  // permit, counted from now (`limit` permits out).
  Clock::duration expected_wait(std::size_t waiting, std::size_t limit) const {
    return mean_hold() * static_cast<std::int64_t>(waiting + 1) / static_cast<std::int64_t>(std::max<std::size_t>(limit, 1));
  }

  // A permit came with less time left than a mean hold: sending the call
  // would most likely spend the backend's time on an answer that comes too
  // late (the queue moved slower than expected).
  bool too_late_to_send(Clock::time_point now, Clock::time_point deadline) const {
    return deadline - now < mean_hold();
  }
  // Whether a call sent at `sent_at` had a fair chance to be answered by
  // `deadline`: twice a mean hold. Missing a deadline without one is no
  // fault of the backend's (outlier detection does not count it).
  bool fair_chance(Clock::time_point sent_at, Clock::time_point deadline) const {
    return deadline - sent_at >= 2 * mean_hold();
  }

  struct Refusal {
    Clock::duration expected_wait;
    Clock::duration left;  // the call's time left (negative: none)
    bool at_grant = false;  // too_late_to_send, not refused on arrival
  };
  // nullopt: the call may queue. Else why not: its expected wait plus a
  // mean hold is past its deadline, or (with `max_wait`) the wait alone is
  // longer than that.
  std::optional<Refusal> refuses(Clock::time_point now, Clock::time_point deadline, std::size_t waiting,
                                 std::size_t limit, std::optional<Clock::duration> max_wait = std::nullopt) const {
    const auto hold = mean_hold();
    if (hold.count() == 0) return std::nullopt;  // nothing learned yet
    const auto wait = expected_wait(waiting, limit);
    const auto left = deadline - now;
    if (wait + hold <= left && (!max_wait || wait <= *max_wait)) return std::nullopt;
    return Refusal{wait, left};
  }

  // What the metrics show: time spent queued by calls that queued, and
  // calls refused here.
  Histogram queue_wait;
  std::atomic<std::uint64_t> shed{0};

 private:
  static constexpr std::int64_t hold_weight = 16;  // each call moves the average by 1/16 of its difference
  std::atomic<std::int64_t> mean_hold_{0};          // nanoseconds (steady_clock ticks); 0: none yet
};

}  // namespace routing::core
