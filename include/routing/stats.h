#pragma once
// A snapshot of the router's figures, per system and per backend: what
// routerd exports as Prometheus metrics and library users read directly.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace routing {

struct LatencyHistogram {
  std::vector<double> bounds_seconds;  // upper bounds of the finite buckets
  std::vector<std::uint64_t> counts;   // per bucket (not cumulative); one more for +Inf
  double sum_seconds = 0;
  std::uint64_t count = 0;
};

struct BackendStats {
  std::string address;
  // Placement from discovery (CONTRACT §11): zone ("" = none), weight
  // (1..1000) and whether it is in the router's zone (RouterOptions::zone;
  // every backend is when the router has none).
  std::string zone;
  std::uint32_t weight = 100;
  bool local = true;
  // Drained for maintenance (Router::set_drained, routerd's DRAIN): no new calls.
  bool drained = false;
  bool healthy = true;   // active health checks pass (or none ran yet)
  bool ejected = false;  // passively ejected after consecutive failures
  // False while its host name has no address yet (not resolved, or the
  // lookup failed or timed out): it gets no calls. Literal IPs: always true.
  bool resolved = true;
  std::uint64_t ejections = 0;
  std::uint64_t consecutive_failures = 0;
  std::size_t in_flight = 0;
  std::size_t idle_connections = 0;
  std::size_t active_connections = 0;
  std::map<int, std::uint64_t> calls_by_status;  // status code -> calls
  LatencyHistogram latency;
  // Adaptive pools only (else 0): this backend's limit on calls in flight,
  // and what it was sized from (moving averages over the last windows).
  std::size_t limit = 0;
  double arrival_rate = 0;        // calls per second
  double latency_seconds = 0;     // average
  double min_latency_seconds = 0; // recent minimum (the latency guard's base)
  bool queueing = false;          // latency above the guard: limit being cut
  double slow_start_share = 1;    // slow start: share of its calls it gets now
  std::uint64_t connect_failures = 0;       // connects refused or failed (timeouts included)
  std::uint64_t connect_timeouts = 0;       // of those, the ones that ran out of time
  std::uint64_t health_check_failures = 0;  // active checks it failed
};

// Calls of one procedure of a system, by status code. A system labels the
// first 16 procedures it sees; `procedure` is empty for all later ones
// together (bounded metrics whatever ids clients send).
struct ProcedureCalls {
  std::optional<std::uint32_t> procedure;
  std::map<int, std::uint64_t> calls_by_status;
};

struct SystemStats {
  std::string name;
  std::string strategy;
  std::size_t pool_size = 0;  // the limit now (adaptive pools: it moves)
  bool adaptive_pool = false;
  std::size_t max_pending = 0;
  std::size_t in_flight = 0;  // holding a permit
  std::size_t waiting = 0;    // queued for a permit
  // Calls refused with 8 at once because the queue would not have given
  // them a permit and an answer before their deadline (early shedding,
  // docs/adaptive.md "Overload"), and the time calls that queued waited.
  std::uint64_t shed = 0;
  LatencyHistogram queue_wait;
  // How long a call holds its permit on average (a moving average): what
  // the queue's expected wait is computed from.
  double mean_hold_seconds = 0;
  std::size_t open_connections = 0;
  std::uint64_t retries = 0;
  std::uint64_t retries_denied = 0;  // refused by the retry budget
  // Attempts sent to a backend outside the router's zone (RouterOptions::zone).
  std::uint64_t cross_zone_calls = 0;
  std::map<int, std::uint64_t> calls_by_status;
  std::vector<ProcedureCalls> calls_by_procedure;  // the same calls, by procedure too
  LatencyHistogram latency;
  std::vector<BackendStats> backends;
};

struct RouterStats {
  std::vector<SystemStats> systems;  // sorted by name
  // Names discovery did not know, remembered for a while
  // (RouterOptions::unknown_name_ttl, max_unknown_names), and how many
  // were forgotten early to stay within the cap.
  std::size_t unknown_names = 0;
  std::uint64_t unknown_names_evicted = 0;
  // Calls refused because max_systems systems existed.
  std::uint64_t systems_refused = 0;
  // Discovery requests and watch rounds that failed in this process, and when
  // discovery last answered (seconds since the epoch; 0: not yet).
  std::uint64_t discovery_errors = 0;
  double discovery_last_success_unix = 0;
  // TLS handshakes begun on new backend connections (RouterOptions::tls;
  // health checks' own connections included). Pooled connections are
  // reused: in steady state this stays still while calls go on.
  std::uint64_t backend_tls_handshakes = 0;
};

}  // namespace routing
