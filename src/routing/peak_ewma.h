#pragma once
// The peak-ewma strategy's latency estimate of one backend (as Finagle's and
// Linkerd's): a moving average of call latency that jumps straight up to a
// slower call (the peak) and decays towards faster ones, and towards zero
// while no call finishes, with time constant `decay`. The strategy weighs it
// by the calls in flight: cost = estimate × (in flight + 1).
//
// Updated by every worker without a lock: concurrent updates may lose one
// another's sample, which only makes the estimate a little less smooth.
#include <atomic>
#include <chrono>
#include <cmath>

namespace routing::core {

class PeakEwma {
 public:
  void observe(std::chrono::nanoseconds latency, std::chrono::nanoseconds now, std::chrono::nanoseconds decay) {
    const double sample = static_cast<double>(latency.count());
    const double current = at(now, decay);
    estimate_ns_.store(sample > current ? sample : current + (sample - current) * (1 - weight(now, decay)),
                       std::memory_order_relaxed);
    stamp_ns_.store(now.count(), std::memory_order_relaxed);
  }
  // The estimate at `now`, in nanoseconds; 0 before the first sample.
  double at(std::chrono::nanoseconds now, std::chrono::nanoseconds decay) const {
    return estimate_ns_.load(std::memory_order_relaxed) * weight(now, decay);
  }

 private:
  // How much of the estimate survives since the last sample.
  double weight(std::chrono::nanoseconds now, std::chrono::nanoseconds decay) const {
    const auto elapsed = now.count() - stamp_ns_.load(std::memory_order_relaxed);
    if (elapsed <= 0 || decay.count() <= 0) return 1.0;
    return std::exp(-static_cast<double>(elapsed) / static_cast<double>(decay.count()));
  }

  std::atomic<double> estimate_ns_{0};
  std::atomic<std::int64_t> stamp_ns_{0};
};

}  // namespace routing::core
