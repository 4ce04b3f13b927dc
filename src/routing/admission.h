#pragma once
// Early shedding (issue 27, docs/adaptive.md "Overload"): a call that finds
// every permit of its system taken joins the queue only if it can expect
// its turn, and its answer, before its deadline. Otherwise it is refused at
// once with 8 instead of waiting for a permit it would get too late: under
// overload a FIFO queue of calls whose deadlines will pass anyway makes every
// admitted call wait behind them, and goodput collapses (measured: 38 of 500
// calls/s at twice the pool's capacity).
//
// The queue's speed is learned from the calls that went through it: a call
// that joined behind `ahead` others and got its permit after W moved W /
// (ahead + 1) per place (a moving average); a call joining behind `waiting`
// others expects its permit after (waiting + 1) × that, and its answer a
// mean hold later (the moving average of how long calls hold a permit).
// Refusals start only once the queue has shown overload: a call's deadline
// passed while it waited (then the queue is too long for its calls, and
// every call it admits beyond that waits for nothing). Until a queued call
// has got its permit, every call is admitted too (a first
// version estimated the speed as mean hold / limit: the first calls of a
// burst, whose holds include the router's own backlog, made it 100x too
// slow, and it refused calls a queue of 1,260 would have served in 70 ms).
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

  // A queued call got its permit after `waited`, having joined behind `ahead` others.
  void note_wait(Clock::duration waited, std::size_t ahead) {
    queue_wait.record(waited);
    const auto sample = std::max<std::int64_t>(waited.count() / static_cast<std::int64_t>(ahead + 1), 1);
    const auto old = per_place_.load(std::memory_order_relaxed);
    per_place_.store(old == 0 ? sample : old + (sample - old) / hold_weight, std::memory_order_relaxed);
  }
  // How long the queue takes to move one place (0: no call went through yet).
  Clock::duration per_place() const { return Clock::duration(per_place_.load(std::memory_order_relaxed)); }

  // When a call that joins the queue behind `waiting` others expects its
  // permit, counted from now.
  Clock::duration expected_wait(std::size_t waiting) const {
    return per_place() * static_cast<std::int64_t>(waiting + 1);
  }

  // A permit came with less time left than a mean hold: sending the call
  // would most likely spend the backend's time on an answer that comes too
  // late (the queue moved slower than expected).
  // Only under overload: in a system whose procedures differ (1 ms and 1 s
  // ones) the mean says little of one call.
  bool too_late_to_send(Clock::time_point now, Clock::time_point deadline) const {
    return overloaded(now) && deadline - now < mean_hold();
  }
  // Whether a call that arrived at `arrival` and was sent at `sent_at` had a
  // fair chance to be answered by `deadline`: at least half its time was
  // left for the backend. Missing a deadline without one (the call waited
  // most of its time in the queue) is no fault of the backend's: outlier
  // detection does not count it. (Not judged by the mean hold: calls cut
  // short by their deadline raise it, and a hung backend would never count.)
  static bool fair_chance(Clock::time_point arrival, Clock::time_point sent_at, Clock::time_point deadline) {
    return (sent_at - arrival) * 2 <= deadline - arrival;
  }

  struct Refusal {
    Clock::duration expected_wait;
    Clock::duration left;  // the call's time left (negative: none)
  };
  // nullopt: the call may queue. Else why not: its expected wait plus a
  // mean hold is past its deadline, or (with `max_wait`) the wait alone is
  // longer than that.
  // Only under overload (overloaded(): the queue let a call's deadline pass,
  // or refused one, within the last second): a burst that the queue serves
  // in time is never refused on a prediction (10,000 calls at once: their
  // first waits include the router's own backlog of accepting them, and an
  // estimate from them refused half a burst the queue then served in 0.1 s).
  std::optional<Refusal> refuses(Clock::time_point now, Clock::time_point deadline, std::size_t waiting,
                                 std::optional<Clock::duration> max_wait = std::nullopt) const {
    const auto hold = mean_hold();
    if (per_place().count() == 0 || !overloaded(now)) return std::nullopt;  // nothing learned, or no sign of overload
    const auto wait = expected_wait(waiting);
    const auto left = deadline - now;
    if (wait + hold <= left && (!max_wait || wait <= *max_wait)) return std::nullopt;
    return Refusal{wait, left};
  }

  // A call was refused here at `now`, or its deadline passed while it
  // waited for a permit (or left too little to use it). Overload is
  // remembered for a second: while it lasts (and only then) calls are
  // refused on the queue's prediction, and adaptive pools also bound the
  // queue's wait (System::max_queue_wait); a closed loop of callers that
  // merely queue, each call in time, never enters it.
  // Every refusal renews overload, those of the max_wait bound too: a
  // bound that lapsed after a second would let the queue grow back to its
  // deadlines (tried: adaptive pools at 2x then alternated, p99 199 ms).
  // The price: a closed loop of more callers than the backends take, once
  // overloaded, keeps getting 8 for the calls past the bound while it keeps
  // them waiting (docs/adaptive.md "Overload").
  void note_shed(Clock::time_point now) {
    shed.fetch_add(1, std::memory_order_relaxed);
    note_late(now);
  }
  void note_late(Clock::time_point now) {
    const auto at = now.time_since_epoch().count();
    auto last = last_shed_.load(std::memory_order_relaxed);
    while (at > last && !last_shed_.compare_exchange_weak(last, at, std::memory_order_relaxed)) {
    }
  }
  bool overloaded(Clock::time_point now) const {
    const auto last = last_shed_.load(std::memory_order_relaxed);
    return last != 0 && now - Clock::time_point(Clock::duration(last)) < overload_memory;
  }
  static constexpr std::chrono::seconds overload_memory{1};

  // What the metrics show: time spent queued by calls that queued (those
  // that got a permit: note_wait; those whose deadline came first: the
  // flow records them), and calls refused here.
  Histogram queue_wait;
  std::atomic<std::uint64_t> shed{0};

 private:
  static constexpr std::int64_t hold_weight = 16;  // each call moves the average by 1/16 of its difference
  std::atomic<std::int64_t> mean_hold_{0};          // nanoseconds (steady_clock ticks); 0: none yet
  std::atomic<std::int64_t> per_place_{0};          // the same
  std::atomic<std::int64_t> last_shed_{0};          // steady_clock ticks of the last sign of overload; 0: none
};

}  // namespace routing::core
