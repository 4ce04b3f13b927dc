#pragma once
// discoveryd's flags (docs/discovery.md), apart from main() like routerd's.
#include "admin/admin_http.h"
#include "app/common_flags.h"
#include "discovery/limits.h"
#include "rpc/server_options.h"

#include <set>
#include <string>

namespace routing::app {

struct DiscoverydFlags {
  CommonOptions common;
  rpc::ServerOptions server;
  discovery::DiscoveryLimits limits;
  std::string admin = "127.0.0.1:10201";  // /metrics, /healthz, /readyz
  rpc::tls::ServerFiles admin_tls;          // --admin-tls-*: HTTPS on the admin listener
  admin::AdminLimits admin_limits;
  std::string policy_file;  // --policy: who may REGISTER which names
};

// The server flags, and one flag per bound of discovery/limits.h.
void add_discoveryd_flags(CLI::App& app, DiscoverydFlags& flags);

// The limits as discoveryd applies them: a LIST answer never longer than its
// own frame limit (the one it runs with: --max-frame-bytes needs a restart).
discovery::DiscoveryLimits effective_limits(discovery::DiscoveryLimits limits, std::size_t max_frame_bytes);

// The names of the settings of discovery/limits.h ("max-names", ...): the
// ones a reload applies, with the log level.
std::set<std::string> discoveryd_limit_settings();

}  // namespace routing::app
