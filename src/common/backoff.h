#pragma once
// Exponential backoff with jitter: pauses between retries double from
// `initial` up to `max`, each drawn uniformly from [d/2, d] so that many
// clients retrying after the same outage do not retry in lockstep.
#include <algorithm>
#include <chrono>
#include <random>

namespace routing::common {

class Backoff {
 public:
  Backoff(std::chrono::milliseconds initial, std::chrono::milliseconds max)
      : initial_(std::max(initial, std::chrono::milliseconds(1))), max_(std::max(max, initial_)),
        current_(initial_), rng_(std::random_device{}()) {}

  std::chrono::milliseconds next() {
    auto ceiling = current_;
    current_ = std::min(current_ * 2, max_);
    std::uniform_int_distribution<long> pick(ceiling.count() / 2, ceiling.count());
    return std::chrono::milliseconds(pick(rng_));
  }
  void reset() { current_ = initial_; }

 private:
  std::chrono::milliseconds initial_, max_, current_;
  std::mt19937 rng_;
};

}  // namespace routing::common
