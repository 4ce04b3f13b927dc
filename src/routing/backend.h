#pragma once
// One backend of a system, shared by every worker: its address, health, load
// and figures. Everything a call reads on its way is atomic; the passive
// health record sits behind a small mutex touched only on failures.
#include "discovery/address_set.h"
#include "routing/adaptive_limit.h"
#include "routing/histogram.h"
#include "routing/load_window.h"
#include "routing/outlier.h"
#include "routing/peak_ewma.h"
#include "rpc/host_port.h"

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <limits>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace routing::core {

class System;

// Where a backend is reached. Set by the constructor for a literal IP, else
// by its DnsRefresher (on worker 0) whenever a lookup answers, while calls
// and health checks read it on other threads: hence the lock (taken once
// per new connection, never per call) and the flag pick() reads.
class EndpointSlot {
 public:
  using Endpoint = boost::asio::ip::tcp::endpoint;
  std::optional<Endpoint> get() const {
    std::lock_guard lock(mutex_);
    return endpoint_;
  }
  // True if it changed.
  bool set(const Endpoint& endpoint) {
    std::lock_guard lock(mutex_);
    if (endpoint_ == endpoint) return false;
    endpoint_ = endpoint;
    known_.store(true, std::memory_order_release);
    return true;
  }
  bool known() const { return known_.load(std::memory_order_acquire); }

 private:
  mutable std::mutex mutex_;
  std::optional<Endpoint> endpoint_;
  std::atomic<bool> known_{false};
};

struct Backend {
  Backend(System& owner, std::string address);

  System& system;
  const std::string address;
  // Unknown until a host name resolves (System::publish starts that); a
  // backend without one is not available.
  EndpointSlot endpoint;
  // The address as host and port, when it names a host rather than an IP.
  std::optional<rpc::HostPort> host_name;

  std::atomic<std::size_t> in_flight{0};
  std::atomic<std::size_t> open_connections{0};
  std::atomic<std::size_t> idle_connections{0};
  // Tagged connections the pools lend to many calls (counted in
  // open_connections as in use): at the system's bound each takes one more call.
  std::atomic<std::size_t> shared_connections{0};
  std::atomic<bool> healthy{true};   // active health checks
  std::atomic<bool> removed{false};  // gone from discovery
  // Maintenance (DRAIN, System::set_drained): no new calls; those in
  // flight finish.
  std::atomic<bool> drained{false};
  // Placement (CONTRACT §11), from discovery; a re-registration may change
  // it. `local`: in the router's zone (every backend is when the router has
  // none). Picks read these two; the rest is for figures (placement()).
  std::atomic<std::uint32_t> weight{discovery::Placement::default_weight};
  std::atomic<bool> local{true};
  std::atomic<std::int64_t> ejected_until_ns{0};
  std::atomic<bool> failing{false};  // the outlier record has failures to clear
  // When it last answered a call (steady clock, ns): a deadline missed here
  // while other backends answered marks this one as the outlier; an answer
  // within a health check interval stands in for the check's ping.
  std::atomic<std::int64_t> answered_ns{0};
  // Attempts that failed (refused, broken, closed): when it moves, idle
  // connections to this backend are checked before reuse, however recently
  // they were used (the backend may have just died).
  std::atomic<std::uint64_t> failed_attempts{0};
  // When an attempt on it last failed (steady clock, ns): picks pass it over
  // for a moment while another backend is there (System::pick).
  std::atomic<std::int64_t> failed_ns{0};
  std::atomic<std::uint64_t> connect_failures{0};
  std::atomic<std::uint64_t> connect_timeouts{0};
  std::atomic<std::uint64_t> health_check_failures{0};

  std::mutex outlier_mutex;
  OutlierState outlier;
  unsigned health_failures = 0;  // touched by the health checker only

  StatusCounters calls;
  Histogram latency;

  // Adaptive limits (RouterOptions::adaptive_pool): this backend's limit on
  // calls in flight (its share of the system's; unbounded with a fixed pool
  // size), the window its calls fill and the limit's state (the limits loop's).
  std::atomic<std::size_t> limit{std::numeric_limits<std::size_t>::max()};
  LoadWindow window;
  std::mutex adaptive_mutex;  // the limits loop updates, stats() reads
  AdaptiveLimit adaptive;     // under adaptive_mutex
  // peak-ewma's latency estimate.
  PeakEwma peak_latency;
  // Slow start: when this backend's ramp began (steady-clock ns; 0: none).
  std::atomic<std::int64_t> ramp_from_ns{0};

  // A call was sent to this backend / came back from it after `took`. The
  // adaptive limit's window and peak-ewma's estimate are kept only while
  // they are used (a system switched to peak-ewma starts estimating then).
  void begin_call();
  void end_call(std::chrono::steady_clock::duration took, std::chrono::steady_clock::time_point now);
  // Slow start: the share of calls this backend gets at `now`, 0.1 .. 1.
  double ramp_share(std::chrono::steady_clock::time_point now, std::chrono::nanoseconds window) const;

  // Whether a call could go out on a connection already open (an idle one,
  // or a shared one), without connecting.
  bool has_connection_to_spare() const {
    return idle_connections.load(std::memory_order_relaxed) > 0 ||
           shared_connections.load(std::memory_order_relaxed) > 0;
  }

  bool ejected(std::chrono::steady_clock::time_point now) const {
    return now.time_since_epoch().count() < ejected_until_ns.load(std::memory_order_relaxed);
  }
  bool available(std::chrono::steady_clock::time_point now) const {
    return healthy.load(std::memory_order_relaxed) && !ejected(now) && endpoint.known() &&
           !drained.load(std::memory_order_relaxed);
  }
  // Takes `placement` from discovery; `router_zone` decides `local`.
  void place(const discovery::Placement& placement, const std::string& router_zone);
  discovery::Placement placement() const {
    std::lock_guard lock(placement_mutex_);
    return placement_;
  }

 private:
  mutable std::mutex placement_mutex_;
  discovery::Placement placement_;  // under placement_mutex_
};

// An immutable snapshot of a system's backends, published atomically.
struct BackendList {
  std::vector<std::shared_ptr<Backend>> backends;  // sorted by address
};

}  // namespace routing::core
