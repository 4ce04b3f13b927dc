#pragma once
// Poisson arrivals for routebench's open loop: the gaps between calls are
// exponential with mean 1/rate, drawn from a seeded engine, so a run can be
// repeated call for call. Independent arrivals are what many users calling
// one service look like; a fixed interval would hide the bursts that fill
// queues. Pure (no clock), so a test can check the schedule's statistics.
#include <chrono>
#include <cmath>
#include <cstdint>
#include <random>

namespace routing::bench {

class PoissonArrivals {
 public:
  // `rate_per_s` must be > 0.
  PoissonArrivals(double rate_per_s, std::uint64_t seed) : mean_gap_ns_(1e9 / rate_per_s), engine_(seed) {}

  // The time from one arrival to the next. Inverse-CDF sampling on our own
  // uniform draw (not std::exponential_distribution, whose algorithm is the
  // standard library's choice): the same seed gives the same schedule with
  // any library.
  std::chrono::nanoseconds next_gap() {
    // 53 random bits in [0, 1); 1 - u is in (0, 1], so the log is finite.
    const double u = static_cast<double>(engine_() >> 11) * 0x1.0p-53;
    return std::chrono::nanoseconds(static_cast<std::int64_t>(-std::log1p(-u) * mean_gap_ns_));
  }

 private:
  double mean_gap_ns_;
  std::mt19937_64 engine_;
};

}  // namespace routing::bench
