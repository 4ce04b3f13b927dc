#pragma once
// routerd's flags (docs/operations.md), apart from main() so that the config
// file parser can be fuzzed with exactly the options routerd has.
#include <routing/router.h>

#include "app/common_flags.h"
#include "admin/admin_http.h"
#include "policy/policy.h"
#include "proxy/proxy_options.h"
#include "rpc/server_options.h"

#include <memory>
#include <optional>
#include <string>

namespace routing::app {

struct RouterdFlags {
  CommonOptions common;
  rpc::ServerOptions server;
  RouterOptions router;
  proxy::ProxyOptions proxy;
  std::string admin = "127.0.0.1:10301";
  rpc::tls::ServerFiles admin_tls;  // --admin-tls-*: HTTPS on the admin listener
  proxy::AdminLimits admin_limits;
  std::string auth_token_file;
  std::string policy_file;                        // --policy
  std::shared_ptr<const policy::Policy> policy;  // its rules, read by finish_routerd_flags
  // --register-as NAME: routerd registers its own address (--advertise, else
  // its listener's) under NAME in its discovery, in its --zone, and keeps
  // the lease alive (CONTRACT §11): clients find the routerds there.
  std::string register_as;
  std::string advertise;
  long register_ttl_ms = 10000;
};

// Every flag, with --config FILE and --check-config (settings.h: read with
// parse_settings and the environment prefix ROUTERD_).
void add_routerd_flags(CLI::App& app, RouterdFlags& flags);

// Why `token` cannot be routerd's auth token (too short to resist guessing:
// fewer than proxy::min_auth_token_bytes), or nullopt.
std::optional<std::string> check_auth_token(const std::string& token);

}  // namespace routing::app
