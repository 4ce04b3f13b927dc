#include "proxy/stats_output.h"

#include "common/prometheus_label.h"
#include "proxy/reported_systems.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <cstdio>
#include <sstream>
#include <utility>
#include <vector>

namespace routing::proxy {
namespace json = boost::json;

namespace {

json::object calls_json(const std::map<int, std::uint64_t>& calls) {
  json::object out;
  for (auto [status, count] : calls) out[status < 0 ? "other" : std::to_string(status)] = count;
  return out;
}

// The latency below which `quantile` of the calls fell (bucket upper bound).
double quantile(const LatencyHistogram& histogram, double q) {
  if (histogram.count == 0) return 0;
  auto wanted = static_cast<std::uint64_t>(q * static_cast<double>(histogram.count) + 0.5);
  std::uint64_t seen = 0;
  for (std::size_t i = 0; i < histogram.counts.size(); ++i) {
    seen += histogram.counts[i];
    if (seen >= wanted && seen > 0) return i < histogram.bounds_seconds.size() ? histogram.bounds_seconds[i] : -1;
  }
  return -1;
}

json::object latency_json(const LatencyHistogram& histogram) {
  return {{"count", histogram.count},
          {"mean_ms", histogram.count ? histogram.sum_seconds * 1000 / static_cast<double>(histogram.count) : 0.0},
          {"p50_le_ms", quantile(histogram, 0.5) * 1000},
          {"p99_le_ms", quantile(histogram, 0.99) * 1000}};
}

std::string label(std::string_view value) { return common::prometheus_label(value); }

std::string number(double value) {
  char buffer[64];
  std::snprintf(buffer, sizeof buffer, "%.9g", value);
  return buffer;
}

class Writer {
 public:
  // A family of one unlabelled sample.
  void single(std::string_view name, std::string_view type, std::string_view help, double value) {
    family(name, type, help);
    sample(name, "", value);
  }
  void family(std::string_view name, std::string_view type, std::string_view help) {
    out_ << "# HELP " << name << ' ' << help << "\n# TYPE " << name << ' ' << type << '\n';
  }
  void sample(std::string_view name, std::string_view labels, double value) {
    out_ << name;
    if (!labels.empty()) out_ << '{' << labels << '}';
    out_ << ' ' << number(value) << '\n';
  }
  void histogram(std::string_view name, const std::string& labels, const LatencyHistogram& h) {
    std::uint64_t cumulative = 0;
    std::string prefix = labels.empty() ? "" : labels + ",";
    for (std::size_t i = 0; i < h.counts.size(); ++i) {
      cumulative += h.counts[i];
      std::string le = i < h.bounds_seconds.size() ? number(h.bounds_seconds[i]) : "+Inf";
      sample(std::string(name) + "_bucket", prefix + "le=\"" + le + "\"", static_cast<double>(cumulative));
    }
    sample(std::string(name) + "_sum", labels, h.sum_seconds);
    sample(std::string(name) + "_count", labels, static_cast<double>(h.count));
  }
  std::string str() const { return out_.str(); }

 private:
  std::ostringstream out_;
};

std::string system_label(const SystemStats& s) { return "system=\"" + label(s.name) + "\""; }
std::string backend_label(const SystemStats& s, const BackendStats& b) {
  return system_label(s) + ",backend=\"" + label(b.address) + "\"";
}
// Whether a backend gets its routing_backend_* series: it did something
// (a call, a connection, a failed connect or check, an ejection) or is out
// of the ordinary (unhealthy, ejected, drained, unresolved, ramping up).
// Backends nobody called and nothing happened to are left out: with the
// aperture most of a large system's backends are such, and 10,000 of them
// wrote 34 series each (a 29 MB page, 0.36 s of the router's CPU a
// scrape). routing_backends counts them all.
bool has_series(const BackendStats& b) {
  return !b.calls_by_status.empty() || b.in_flight > 0 || b.idle_connections > 0 || b.active_connections > 0 ||
         b.connect_failures > 0 || b.health_check_failures > 0 || b.ejections > 0 || !b.healthy || b.ejected ||
         b.drained || !b.resolved || b.slow_start_share < 1;
}

std::size_t available(const SystemStats& s) {
  std::size_t n = 0;
  for (const auto& b : s.backends) n += b.healthy && !b.ejected && !b.drained && b.resolved;
  return n;
}

std::string code_label(int status) { return "code=\"" + (status < 0 ? std::string("other") : std::to_string(status)) + "\""; }

// What a backend's adaptive limit was sized from.
json::object adaptive_json(const BackendStats& b) {
  return json::object{{"limit", b.limit},
                      {"arrival_rate", b.arrival_rate},
                      {"latency_seconds", b.latency_seconds},
                      {"min_latency_seconds", b.min_latency_seconds},
                      {"queueing", b.queueing}};
}

}  // namespace

std::string status_json(const RouterStats& all, const ProxyStats& all_proxy) {
  RouterStats router = all;
  ProxyStats proxy = all_proxy;
  fold_reported_systems(router, proxy.rate_limited);
  json::array systems;
  for (const auto& s : router.systems) {
    json::array backends;
    for (const auto& b : s.backends) {
      json::object backend{{"address", b.address},
                           {"zone", b.zone},
                           {"weight", b.weight},
                           {"local", b.local},
                           {"drained", b.drained},
                           {"healthy", b.healthy},
                           {"resolved", b.resolved},
                           {"ejected", b.ejected},
                           {"ejections", b.ejections},
                           {"consecutive_failures", b.consecutive_failures},
                           {"in_flight", b.in_flight},
                           {"idle_connections", b.idle_connections},
                           {"active_connections", b.active_connections},
                           {"calls", calls_json(b.calls_by_status)},
                           {"latency", latency_json(b.latency)},
                           {"slow_start_share", b.slow_start_share}};
      if (s.adaptive_pool) backend["adaptive"] = adaptive_json(b);
      backends.push_back(std::move(backend));
    }
    auto limited = proxy.rate_limited.find(s.name);
    systems.push_back(json::object{{"name", s.name},
                                   {"strategy", s.strategy},
                                   {"pool_size", s.pool_size},
                                   {"adaptive_pool", s.adaptive_pool},
                                   {"max_pending", s.max_pending},
                                   {"in_flight", s.in_flight},
                                   {"waiting", s.waiting},
                                   {"shed", s.shed},
                                   {"queue_wait", latency_json(s.queue_wait)},
                                   {"mean_hold_ms", s.mean_hold_seconds * 1000},
                                   {"open_connections", s.open_connections},
                                   {"retries", s.retries},
                                   {"retries_denied", s.retries_denied},
                                   {"cross_zone_calls", s.cross_zone_calls},
                                   {"rate_limited", limited == proxy.rate_limited.end() ? 0 : limited->second},
                                   {"calls", calls_json(s.calls_by_status)},
                                   {"latency", latency_json(s.latency)},
                                   {"backends", std::move(backends)}});
  }
  json::object out{{"draining", proxy.draining},
                   {"client_connections", proxy.open_connections},
                   {"systems_total", all.systems.size()},
                   {"unknown_names", router.unknown_names},
                   {"systems", std::move(systems)}};
  return json::serialize(out);
}

std::string prometheus_text(const RouterStats& all, const ProxyStats& all_proxy) {
  RouterStats router = all;
  ProxyStats proxy = all_proxy;
  fold_reported_systems(router, proxy.rate_limited);
  Writer w;
  w.single("routing_systems", "gauge", "Systems known (with their own series up to 1000, the rest as system=\"_other\").", static_cast<double>(all.systems.size()));
  w.single("routing_unknown_names", "gauge", "Names discovery did not know, remembered for a while (calls get 5 at once).", static_cast<double>(all.unknown_names));
  w.single("routing_unknown_names_evicted_total", "counter", "Unknown names forgotten early to stay within the cap.", static_cast<double>(all.unknown_names_evicted));
  w.single("routing_systems_refused_total", "counter", "Calls refused (8) because the most systems existed.", static_cast<double>(all.systems_refused));
  w.single("routerd_client_connections", "gauge", "Client connections open now.", static_cast<double>(proxy.open_connections));
  w.single("routerd_client_connections_accepted_total", "counter", "Client connections accepted.", static_cast<double>(proxy.accepted_connections));
  w.single("routerd_client_connections_rejected_total", "counter", "Client connections refused over the limit.", static_cast<double>(proxy.rejected_connections));
  w.single("routerd_client_connections_evicted_total", "counter", "Quiet client connections closed to admit new ones at the connection limit.", static_cast<double>(proxy.evicted_connections));
  w.single("routerd_tls_handshakes_total", "counter",
           "Client TLS handshakes completed on the main port (--tls-cert); steady clients make none per call.",
           static_cast<double>(proxy.tls_handshakes));
  w.single("routerd_tls_resumed_total", "counter", "Of those, resumed TLS sessions.",
           static_cast<double>(proxy.tls_resumed));
  w.single("routerd_tls_handshake_failures_total", "counter",
           "Client connections refused at the TLS handshake (plain TCP, garbage, bad or no certificate, a stall).",
           static_cast<double>(proxy.tls_handshake_failures));
  w.single("routing_backend_tls_handshakes_total", "counter",
           "TLS handshakes begun on new backend connections (--tls-ca); pooled connections are reused.",
           static_cast<double>(all.backend_tls_handshakes));
  w.family("routerd_accept_errors_total", "counter",
           "Failed accepts (e.g. out of file descriptors), by listener; each is followed by a pause of 50 ms "
           "doubling to 1 s.");
  w.sample("routerd_accept_errors_total", "listener=\"main\"", static_cast<double>(proxy.accept_errors));
  w.sample("routerd_accept_errors_total", "listener=\"admin\"", static_cast<double>(proxy.admin.accept_errors_total));
  w.single("routerd_config_reloads_total", "counter", "SIGHUP reloads of the settings that passed.",
           static_cast<double>(proxy.config_reloads));
  w.single("routerd_config_reload_failures_total", "counter",
           "SIGHUP reloads refused for a bad setting (nothing changed; the log says why).",
           static_cast<double>(proxy.config_reload_failures));
  w.single("routerd_admin_connections", "gauge", "Admin HTTP connections open now.", static_cast<double>(proxy.admin.open_connections));
  w.single("routerd_admin_connections_rejected_total", "counter", "Admin HTTP connections refused (503) over --admin-max-connections.", static_cast<double>(proxy.admin.rejected_total));
  w.single("routerd_admin_tls_handshake_failures_total", "counter",
           "Admin HTTPS connections refused at the TLS handshake (--admin-tls-*).",
           static_cast<double>(proxy.admin.tls_handshake_failures_total));
  w.single("routerd_admin_connections_evicted_total", "counter", "Idle admin HTTP connections closed to admit new ones at --admin-max-connections.", static_cast<double>(proxy.admin.evicted_total));
  w.single("routerd_auth_failures_total", "counter", "Calls refused for want of authentication.", static_cast<double>(proxy.auth_failures));
  w.single("routerd_auth_throttled_total", "counter", "AUTHENTICATE calls answered 8 unchecked: their address had spent its failure budget.", static_cast<double>(proxy.auth_throttled));
  w.single("routerd_auth_connections_closed_total", "counter", "Client connections closed after too many failed AUTHENTICATE calls.", static_cast<double>(proxy.auth_connections_closed));
  w.single("routerd_auth_throttle_addresses", "gauge", "Source addresses whose failed authentications are remembered.", static_cast<double>(proxy.auth_throttle_addresses));
  w.single("routerd_answers_base64_to_fit_total", "counter", "Backend answers in UTF-8 sent as payload_base64 because JSON escaping would not fit a frame.", static_cast<double>(proxy.answers_base64_to_fit));
  w.single("routerd_answers_too_large_total", "counter", "Backend answers that fit a frame in no form, answered with status 8.", static_cast<double>(proxy.answers_too_large));

  w.single("routerd_request_bytes_total", "counter", "Payload bytes of ROUTE calls received from clients.", static_cast<double>(proxy.request_bytes));
  w.single("routerd_response_bytes_total", "counter", "Payload bytes answered to ROUTE calls.", static_cast<double>(proxy.response_bytes));
  w.single("routing_discovery_errors_total", "counter", "Discovery requests and watch rounds that failed (discovery unreachable, a LIST refused).", static_cast<double>(router.discovery_errors));
  w.single("routing_discovery_last_success_timestamp_seconds", "gauge", "When discovery last answered (seconds since the epoch; 0: not yet).", router.discovery_last_success_unix);

  w.family("routing_calls_total", "counter", "Calls routed, by system and status code.");
  for (const auto& s : router.systems)
    for (auto [status, count] : s.calls_by_status) w.sample("routing_calls_total", system_label(s) + "," + code_label(status), double(count));
  w.family("routing_calls_by_procedure_total", "counter",
           "Calls routed, by system, procedure and status code (a system's first 16 procedures; later ones as "
           "procedure=\"other\").");
  for (const auto& s : router.systems)
    for (const auto& p : s.calls_by_procedure)
      for (auto [status, count] : p.calls_by_status)
        w.sample("routing_calls_by_procedure_total",
                 system_label(s) + ",procedure=\"" + (p.procedure ? std::to_string(*p.procedure) : "other") + "\"," +
                     code_label(status),
                 double(count));
  w.family("routing_call_duration_seconds", "histogram", "Time from a call's arrival to its answer.");
  for (const auto& s : router.systems) w.histogram("routing_call_duration_seconds", system_label(s), s.latency);
  w.family("routing_queue_wait_seconds", "histogram",
           "Time calls that found every slot taken waited in the system's queue (until a slot, or their deadline).");
  for (const auto& s : router.systems) w.histogram("routing_queue_wait_seconds", system_label(s), s.queue_wait);
  w.family("routing_calls_shed_total", "counter",
           "Calls refused with 8 at once: the queue would not have given them a slot and an answer before their "
           "deadline (early shedding).");
  for (const auto& s : router.systems) w.sample("routing_calls_shed_total", system_label(s), double(s.shed));

  struct Gauge {
    const char* name;
    const char* help;
    double (*value)(const SystemStats&);
  };
  const Gauge system_gauges[] = {
      {"routing_in_flight", "Calls holding a slot of the system.", [](const SystemStats& s) { return double(s.in_flight); }},
      {"routing_waiting", "Calls queued for a slot.", [](const SystemStats& s) { return double(s.waiting); }},
      {"routing_call_hold_seconds", "How long a call holds its slot, a moving average over calls that ended while others waited: the queue's bounds come from it.", [](const SystemStats& s) { return s.mean_hold_seconds; }},
      {"routing_pool_size", "Slots (calls in flight and connections) of the system; adaptive pools move it.", [](const SystemStats& s) { return double(s.pool_size); }},
      {"routing_open_connections", "Connections open to the system's backends.", [](const SystemStats& s) { return double(s.open_connections); }},
  };
  for (const auto& gauge : system_gauges) {
    w.family(gauge.name, "gauge", gauge.help);
    for (const auto& s : router.systems) w.sample(gauge.name, system_label(s), gauge.value(s));
  }
  w.family("routing_retries_total", "counter", "Calls resent to another backend.");
  for (const auto& s : router.systems) w.sample("routing_retries_total", system_label(s), double(s.retries));
  w.family("routing_retries_denied_total", "counter", "Resends refused by the retry budget.");
  for (const auto& s : router.systems) w.sample("routing_retries_denied_total", system_label(s), double(s.retries_denied));
  w.family("routing_cross_zone_calls_total", "counter", "Attempts sent to a backend outside the router's zone (--zone).");
  for (const auto& s : router.systems) w.sample("routing_cross_zone_calls_total", system_label(s), double(s.cross_zone_calls));
  w.family("routing_rate_limited_total", "counter", "Calls refused by the rate limit.");
  for (const auto& [system, count] : proxy.rate_limited) w.sample("routing_rate_limited_total", "system=\"" + label(system) + "\"", double(count));

  w.single("routerd_policy_rules", "gauge", "[[allow]] rules of the --policy in force (0: no policy).",
           static_cast<double>(proxy.policy_rules));
  w.family("routerd_policy_denials_total", "counter",
           "Calls refused (7) by the --policy, by the caller's identity (\"_none\": no client certificate; "
           "past 100 identities, \"_other\").");
  for (const auto& [identity, count] : proxy.policy_denials) {
    w.sample("routerd_policy_denials_total", "identity=\"" + label(identity) + "\"", double(count));
  }

  w.family("routing_backends", "gauge", "Backends the system has (each with routing_backend_* series once it did anything).");
  for (const auto& s : router.systems) w.sample("routing_backends", system_label(s), double(s.backends.size()));
  w.family("routing_backends_available", "gauge", "Backends calls may go to: healthy, not ejected, not drained, resolved.");
  for (const auto& s : router.systems) w.sample("routing_backends_available", system_label(s), double(available(s)));

  std::vector<std::pair<const SystemStats*, const BackendStats*>> shown;
  for (const auto& s : router.systems)
    for (const auto& b : s.backends)
      if (has_series(b)) shown.emplace_back(&s, &b);
  w.family("routing_backend_calls_total", "counter", "Attempts sent to a backend, by status code.");
  for (auto [s, b] : shown)
    for (auto [status, count] : b->calls_by_status) w.sample("routing_backend_calls_total", backend_label(*s, *b) + "," + code_label(status), double(count));
  w.family("routing_backend_call_duration_seconds", "histogram", "Time of one attempt at a backend.");
  for (auto [s, b] : shown) w.histogram("routing_backend_call_duration_seconds", backend_label(*s, *b), b->latency);
  struct BackendGauge {
    const char* name;
    const char* type;
    const char* help;
    double (*value)(const BackendStats&);
  };
  const BackendGauge backend_gauges[] = {
      {"routing_backend_in_flight", "gauge", "Calls in flight at the backend.", [](const BackendStats& b) { return double(b.in_flight); }},
      {"routing_backend_idle_connections", "gauge", "Idle pooled connections.", [](const BackendStats& b) { return double(b.idle_connections); }},
      {"routing_backend_active_connections", "gauge", "Connections in use by a call.", [](const BackendStats& b) { return double(b.active_connections); }},
      {"routing_backend_healthy", "gauge", "1 while active health checks pass.", [](const BackendStats& b) { return b.healthy ? 1.0 : 0.0; }},
      {"routing_backend_resolved", "gauge", "1 once the backend's address is known (0: its host name has not resolved).", [](const BackendStats& b) { return b.resolved ? 1.0 : 0.0; }},
      {"routing_backend_ejected", "gauge", "1 while passively ejected.", [](const BackendStats& b) { return b.ejected ? 1.0 : 0.0; }},
      {"routing_backend_ejections_total", "counter", "Times the backend was ejected.", [](const BackendStats& b) { return double(b.ejections); }},
      {"routing_backend_connect_failures_total", "counter", "Connects to the backend that failed (timeouts included).", [](const BackendStats& b) { return double(b.connect_failures); }},
      {"routing_backend_connect_timeouts_total", "counter", "Connects to the backend that ran out of time.", [](const BackendStats& b) { return double(b.connect_timeouts); }},
      {"routing_backend_health_check_failures_total", "counter", "Active health checks the backend failed.", [](const BackendStats& b) { return double(b.health_check_failures); }},
      {"routing_backend_limit", "gauge", "Adaptive pools: the backend's limit on calls in flight (0: fixed pool).", [](const BackendStats& b) { return double(b.limit); }},
      {"routing_backend_drained", "gauge", "1 while drained for maintenance (DRAIN): no new calls.", [](const BackendStats& b) { return b.drained ? 1.0 : 0.0; }},
      {"routing_backend_weight", "gauge", "The backend's weight from discovery (1..1000).", [](const BackendStats& b) { return double(b.weight); }},
      {"routing_backend_slow_start_share", "gauge", "Slow start: the share of its calls the backend gets now (1: full).", [](const BackendStats& b) { return b.slow_start_share; }},
  };
  for (const auto& gauge : backend_gauges) {
    w.family(gauge.name, gauge.type, gauge.help);
    for (auto [s, b] : shown) w.sample(gauge.name, backend_label(*s, *b), gauge.value(*b));
  }
  w.family("routing_backend_info", "gauge", "1 per backend, labelled with its zone (\"\": none) and whether it is in the router's zone.");
  for (auto [s, b] : shown)
    w.sample("routing_backend_info", backend_label(*s, *b) + ",zone=\"" + label(b->zone) + "\",local=\"" + (b->local ? "true" : "false") + "\"", 1.0);
  return w.str();
}

}  // namespace routing::proxy
