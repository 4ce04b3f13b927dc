#pragma once
// How discovery has been going in this process: every failed request or
// watch (discoveryd or etcd unreachable, a LIST refused) is counted and
// warned about, at most one line per interval with the count since the last
// (a dead discovery server fails every watch every backoff); the first
// success after failures says so. Routers read the figures for /metrics.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string_view>

namespace routing::discovery {

struct DiscoveryFigures {
  std::uint64_t errors = 0;            // failed requests and watch rounds, since start
  double last_success_unix = 0;        // seconds since the epoch of the last answer (0: none yet)
};

class DiscoveryHealth {
 public:
  using Clock = std::chrono::steady_clock;
  static DiscoveryHealth& process();
  explicit DiscoveryHealth(Clock::duration warn_interval = std::chrono::seconds(10)) : interval_(warn_interval) {}

  // `what`: which server and request; `error`: why it failed.
  void failed(std::string_view what, std::string_view error);
  void succeeded();
  DiscoveryFigures figures() const;

 private:
  const Clock::duration interval_;
  mutable std::mutex mutex_;
  std::uint64_t errors_ = 0;
  std::uint64_t unlogged_ = 0;
  bool failing_ = false;
  Clock::time_point next_line_{};
  double last_success_unix_ = 0;
};

}  // namespace routing::discovery
