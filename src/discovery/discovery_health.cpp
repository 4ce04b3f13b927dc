#include "discovery/discovery_health.h"

#include "common/log.h"

namespace routing::discovery {

DiscoveryHealth& DiscoveryHealth::process() {
  static DiscoveryHealth health;
  return health;
}

void DiscoveryHealth::failed(std::string_view what, std::string_view error) {
  std::lock_guard lock(mutex_);
  ++errors_;
  ++unlogged_;
  failing_ = true;
  const auto now = Clock::now();
  if (now < next_line_) return;
  common::log().warn("discovery: {} failed: {} ({} failure(s) since the last such line; calls use the last "
                     "known backends meanwhile)",
                     what, error, unlogged_);
  unlogged_ = 0;
  next_line_ = now + interval_;
}

void DiscoveryHealth::succeeded() {
  const auto now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  std::lock_guard lock(mutex_);
  last_success_unix_ = now;
  if (!failing_) return;
  failing_ = false;
  common::log().info("discovery: answering again ({} failure(s) not logged)", unlogged_);
  unlogged_ = 0;  // next_line_ stays: a name that keeps failing among answering ones warns once per interval
}

DiscoveryFigures DiscoveryHealth::figures() const {
  std::lock_guard lock(mutex_);
  return {errors_, last_success_unix_};
}

}  // namespace routing::discovery
