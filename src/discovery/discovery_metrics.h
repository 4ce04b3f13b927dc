#pragma once
// discoveryd's own /metrics families (prefix discoveryd_; the admin endpoint
// adds the process_* ones): totals only, never one series per name or per
// client address, so a registry of any size scrapes in a few hundred bytes
// (policy denials are by identity: at most 100 series).
#include "discovery/discovery_service.h"
#include "rpc/server.h"

#include <string>

namespace routing::discovery {

struct DiscoverydFigures {
  DiscoveryStats service;
  rpc::ServerStats server;
  bool draining = false;
  std::uint64_t config_reloads = 0;          // SIGHUP reloads that passed
  std::uint64_t config_reload_failures = 0;  // refused: nothing changed
};

// Prometheus text exposition format 0.0.4.
std::string prometheus_text(const DiscoverydFigures& figures);

}  // namespace routing::discovery
