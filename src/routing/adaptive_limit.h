#pragma once
// Little's Law sizing of a concurrency limit (RouterOptions::adaptive_pool):
// calls in flight = arrival rate × latency. Fed one window of measurements at
// a time (by the router's limits loop), it keeps moving averages of the
// arrival rate and the latency and a windowed minimum of the latency, and
// sets the limit to what Little's Law says is needed, plus headroom.
//
// The latency guard (in the manner of Netflix's gradient limiter and TCP
// Vegas): latency (the moving average, or this window's if worse) above
// `tolerance` × its recent minimum means the backend is queueing, so more
// concurrency would only lengthen its queue. Then the latency used for
// sizing is capped at tolerance × minimum, and the limit is cut by the
// gradient (tolerance × minimum / latency, at most to a quarter per
// window). A limit that was reached in a window (the demand may be larger)
// and shows no queueing doubles, so a light load meeting a burst reaches its
// concurrency in a few windows. A window without any call changes nothing:
// quiet is no evidence of what the backend can take.
//
// While the limit binds (it was reached in the window), Little's Law says
// nothing new (the backend gets what the limit lets through) and the limit
// is held near the backend's capacity instead, AIMD-style: latency above
// saturated_tolerance × minimum means the backend queues what the limit
// lets through, so the limit shrinks by the gradient; a little above the
// minimum it grows by one; at the minimum it doubles (issue 27: under
// twice the capacity the guard alone let latency settle at twice the
// minimum, and admitted calls' p99 at 8x the unloaded one).
//
// Pure arithmetic, no clock or atomics: unit-tested alone.
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <limits>

namespace routing::core {

struct AdaptiveLimitSettings {
  std::size_t initial = 10;
  std::size_t min_limit = 1;
  std::size_t max_limit = 1000;
  double headroom = 0.5;   // limit = needed × (1 + headroom) + 1
  double tolerance = 2.0;  // latency above tolerance × minimum: queueing
  // While the limit binds (calls wanted more than it, as under overload):
  // latency above saturated_tolerance × minimum shrinks the limit, between
  // probe_tolerance and that it grows by one a window, below it it doubles.
  double saturated_tolerance = 1.2;
  double probe_tolerance = 1.1;
  double smoothing = 0.3;  // weight of the newest window in the moving averages
  double min_gradient = 0.25;  // the deepest cut of one window
  // The minimum latency is forgotten after one to two of these, so a backend
  // that became slower for good is eventually judged by its new speed.
  std::chrono::milliseconds min_latency_window{30000};
};

class AdaptiveLimit {
 public:
  // What one window measured.
  struct Window {
    std::chrono::nanoseconds length{0};
    std::uint64_t arrivals = 0;     // calls that arrived (were sent)
    std::uint64_t completions = 0;  // calls that finished, and their latencies summed
    std::chrono::nanoseconds latency_sum{0};
    bool reached_limit = false;     // in-flight calls hit the limit at some point
  };

  explicit AdaptiveLimit(AdaptiveLimitSettings settings = {});

  // Folds in one window ending at `now` (a monotonic time); returns the new limit.
  std::size_t update(const Window& window, std::chrono::nanoseconds now);

  std::size_t limit() const { return limit_; }
  double arrival_rate() const { return rate_; }  // calls per second
  std::chrono::nanoseconds latency() const;
  std::chrono::nanoseconds min_latency() const;
  bool queueing() const { return queueing_; }
  // The limit was cut for queueing while it bound and has bound ever since:
  // it is held at what the backend can take (not still growing to a demand).
  bool at_capacity() const { return threshold_ != std::numeric_limits<double>::infinity(); }

 private:
  void observe_latency(double seconds, std::chrono::nanoseconds now);
  double windowed_min() const;
  // The next limit while the limit binds, from the latency judged.
  double bound_limit(double judged, double littles_target);

  AdaptiveLimitSettings settings_;
  std::size_t limit_;
  bool measured_rate_ = false;
  double rate_ = 0;
  double latency_ = 0;  // seconds; 0 until a first completion
  // The minimum over two half-windows: the current one and the one before.
  double min_current_ = 0, min_previous_ = 0;
  std::chrono::nanoseconds current_started_{-1};
  bool queueing_ = false;
  // The limit after the last cut while it bound (infinity: none since it
  // last stopped binding): doubling stops there, one more a window beyond.
  double threshold_ = std::numeric_limits<double>::infinity();
};

}  // namespace routing::core
