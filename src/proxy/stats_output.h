#pragma once
// The router's figures as routerd shows them: the STATUS JSON (procedure 3
// and GET /status) and the Prometheus text of GET /metrics.
#include <routing/stats.h>

#include "proxy/admin_http.h"

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
  AdminStats admin;                       // the admin HTTP listener's figures
  std::uint64_t auth_failures = 0;
  std::map<std::string, std::uint64_t> rate_limited;  // system -> calls refused
  bool draining = false;
};

std::string status_json(const RouterStats& router, const ProxyStats& proxy);
std::string prometheus_text(const RouterStats& router, const ProxyStats& proxy);

}  // namespace routing::proxy
