#pragma once
// One backend of a system, shared by every worker: its address, health, load
// and figures. Everything a call reads on its way is atomic; the passive
// health record sits behind a small mutex touched only on failures.
#include "routing/histogram.h"
#include "routing/outlier.h"

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace routing::core {

class System;

struct Backend {
  Backend(System& owner, std::string address);

  System& system;
  const std::string address;
  std::optional<boost::asio::ip::tcp::endpoint> endpoint;  // nullopt: unresolvable

  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::size_t> open_connections{0};
  std::atomic<std::size_t> idle_connections{0};
  std::atomic<bool> healthy{true};   // active health checks
  std::atomic<bool> removed{false};  // gone from discovery
  std::atomic<std::int64_t> ejected_until_ns{0};
  std::atomic<bool> failing{false};  // the outlier record has failures to clear
  // Attempts that failed (refused, broken, closed): when it moves, idle
  // connections to this backend are checked before reuse, however recently
  // they were used (the backend may have just died).
  std::atomic<std::uint64_t> failed_attempts{0};

  std::mutex outlier_mutex;
  OutlierState outlier;
  unsigned health_failures = 0;  // touched by the health checker only

  StatusCounters calls;
  Histogram latency;

  bool ejected(std::chrono::steady_clock::time_point now) const {
    return now.time_since_epoch().count() < ejected_until_ns.load(std::memory_order_relaxed);
  }
  bool available(std::chrono::steady_clock::time_point now) const {
    return healthy.load(std::memory_order_relaxed) && !ejected(now) && endpoint.has_value();
  }
};

// An immutable snapshot of a system's backends, published atomically.
struct BackendList {
  std::vector<std::shared_ptr<Backend>> backends;  // sorted by address
};

}  // namespace routing::core
