#include "routing/adaptive_limit.h"

#include <algorithm>
#include <limits>
#include <cmath>

namespace routing::core {

AdaptiveLimit::AdaptiveLimit(AdaptiveLimitSettings settings)
    : settings_(settings), limit_(std::clamp(settings.initial, settings.min_limit, settings.max_limit)) {}

std::chrono::nanoseconds AdaptiveLimit::latency() const {
  return std::chrono::nanoseconds(std::llround(latency_ * 1e9));
}

std::chrono::nanoseconds AdaptiveLimit::min_latency() const {
  return std::chrono::nanoseconds(std::llround(windowed_min() * 1e9));
}

double AdaptiveLimit::windowed_min() const {
  if (min_previous_ <= 0) return min_current_;
  if (min_current_ <= 0) return min_previous_;
  return std::min(min_current_, min_previous_);
}

void AdaptiveLimit::observe_latency(double seconds, std::chrono::nanoseconds now) {
  const double a = settings_.smoothing;
  latency_ = latency_ <= 0 ? seconds : a * seconds + (1 - a) * latency_;
  // Two half-windows: rotating drops the minimum of the older one.
  if (current_started_.count() < 0) current_started_ = now;
  if (now - current_started_ >= settings_.min_latency_window / 2) {
    min_previous_ = min_current_;
    min_current_ = 0;
    current_started_ = now;
  }
  if (min_current_ <= 0 || seconds < min_current_) min_current_ = seconds;
}

double AdaptiveLimit::bound_limit(double judged, double littles_target) {
  const double limit = static_cast<double>(limit_);
  const double near_capacity = settings_.saturated_tolerance * windowed_min();
  if (judged > near_capacity) {
    const double cut = std::floor(limit * std::clamp(near_capacity / judged, settings_.min_gradient, 1.0));
    threshold_ = std::max(cut, 1.0);
    return cut;
  }
  if (judged > settings_.probe_tolerance * windowed_min()) return limit + 1;
  // No sign of queueing: the demand may be much larger. Doubling, up to
  // where the backend last queued; past that, one more a window (as TCP's
  // slow start and congestion avoidance: doubling from a limit the backend
  // just proved to be its capacity overshoots it twice over, every time).
  if (limit < threshold_) return std::min(std::max(littles_target, 2.0 * limit), threshold_);
  return limit + 1;
}

std::size_t AdaptiveLimit::update(const Window& window, std::chrono::nanoseconds now) {
  // A quiet window says nothing about what the backend can take: the limit
  // (and the averages) stay as the last traffic left them, so a burst after
  // a quiet spell does not start from the minimum.
  if (window.length.count() <= 0 || (window.arrivals == 0 && window.completions == 0)) return limit_;
  const double a = settings_.smoothing;
  const double rate = static_cast<double>(window.arrivals) / std::chrono::duration<double>(window.length).count();
  rate_ = measured_rate_ ? a * rate + (1 - a) * rate_ : rate;
  measured_rate_ = true;
  double recent = 0;  // this window's average latency
  if (window.completions > 0) {
    recent = std::chrono::duration<double>(window.latency_sum).count() / static_cast<double>(window.completions);
    observe_latency(recent, now);
  }
  if (latency_ <= 0) return limit_;  // nothing finished yet: nothing to size with

  const double guard = settings_.tolerance * windowed_min();
  // Judged on the worse of the average and this window alone: a backend that
  // just slowed down is cut in the window it shows, not once the average
  // has caught up (every window of delay sends it a window's worth of calls).
  const double judged = std::max(latency_, recent);
  queueing_ = judged > guard;
  const double needed = rate_ * std::min(latency_, guard);
  // Rounded up, ignoring hundredths of a call (noise of the averages).
  double target = std::ceil(needed * (1 + settings_.headroom) - 0.01) + 1;
  if (queueing_) {
    const double gradient = std::clamp(guard / judged, settings_.min_gradient, 1.0);
    target = std::min(target, std::floor(static_cast<double>(limit_) * gradient));
    threshold_ = std::max(target, 1.0);
  } else if (window.reached_limit) {
    target = bound_limit(judged, target);
  } else {
    threshold_ = std::numeric_limits<double>::infinity();  // not binding: nothing known of the capacity now
  }
  const double bounded = std::clamp(target, static_cast<double>(settings_.min_limit),
                                    static_cast<double>(settings_.max_limit));
  limit_ = static_cast<std::size_t>(bounded);
  return limit_;
}

}  // namespace routing::core
