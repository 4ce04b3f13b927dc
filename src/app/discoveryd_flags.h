#pragma once
// discoveryd's flags (docs/discovery.md), apart from main() like routerd's.
#include "admin/admin_http.h"
#include "app/common_flags.h"
#include "discovery/limits.h"
#include "rpc/server_options.h"

namespace routing::app {

struct DiscoverydFlags {
  CommonOptions common;
  rpc::ServerOptions server;
  discovery::DiscoveryLimits limits;
  std::string admin = "127.0.0.1:10201";  // /metrics, /healthz, /readyz
  admin::AdminLimits admin_limits;
};

// The server flags, and one flag per bound of discovery/limits.h.
void add_discoveryd_flags(CLI::App& app, DiscoverydFlags& flags);

// The limits as discoveryd applies them: a LIST answer never longer than its
// own frame limit.
discovery::DiscoveryLimits effective_limits(const DiscoverydFlags& flags);

}  // namespace routing::app
