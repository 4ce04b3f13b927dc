#pragma once
// The router's figures as routerd shows them: the STATUS JSON (procedure 3
// and GET /status) and the Prometheus text of GET /metrics.
#include <routing/stats.h>

#include "admin/admin_http.h"

#include <cstdint>
#include <map>
#include <string>

namespace routing::proxy {

// What the proxy itself counts, beside the router's figures.
struct ProxyStats {
  std::size_t open_connections = 0;
  std::uint64_t accepted_connections = 0;
  std::uint64_t rejected_connections = 0;
  std::uint64_t evicted_connections = 0;  // quiet ones closed to admit new ones at the limit
  std::uint64_t accept_errors = 0;        // failed accepts on the main port (each followed by a pause)
  std::uint64_t tls_handshakes = 0;          // client TLS handshakes completed on the main port
  std::uint64_t tls_resumed = 0;             // of those, resumed sessions
  std::uint64_t tls_handshake_failures = 0;  // refused before any procedure ran
  AdminStats admin;                       // the admin HTTP listener's figures
  std::uint64_t config_reloads = 0;          // SIGHUP reloads that passed
  std::uint64_t config_reload_failures = 0;  // SIGHUP reloads refused (nothing changed)
  std::uint64_t request_bytes = 0;   // ROUTE payload bytes received from clients
  std::uint64_t response_bytes = 0;  // answer payload bytes sent back to clients
  std::uint64_t auth_failures = 0;
  std::uint64_t auth_throttled = 0;            // AUTHENTICATE answered 8: the address's failure budget is spent
  std::uint64_t auth_connections_closed = 0;   // connections closed after too many failed AUTHENTICATEs
  std::size_t auth_throttle_addresses = 0;     // source addresses with failures remembered
  std::uint64_t answers_base64_to_fit = 0;  // UTF-8 backend answers sent as base64 to fit a frame
  std::uint64_t answers_too_large = 0;      // backend answers that fit no form: answered 8
  std::map<std::string, std::uint64_t> rate_limited;  // system -> calls refused
  std::map<std::string, std::uint64_t> policy_denials;  // identity ("_none", "_other") -> calls refused (7)
  std::size_t policy_rules = 0;                         // [[allow]] rules in force; 0 without --policy
  bool draining = false;
};

std::string status_json(const RouterStats& router, const ProxyStats& proxy);
std::string prometheus_text(const RouterStats& router, const ProxyStats& proxy);

}  // namespace routing::proxy
