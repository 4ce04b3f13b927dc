#include "app/discoveryd_flags.h"

#include "app/policy_flags.h"
#include "app/tls_flags.h"
#include "app/settings.h"

#include <algorithm>

namespace routing::app {
namespace {

// One flag per bound of discovery/limits.h. All of them change on a reload.
struct LimitFlag {
  const char* name;
  std::size_t discovery::DiscoveryLimits::*field;
  const char* help;
  std::size_t max = 100'000'000;
};

const LimitFlag limit_flags[] = {
    {"--max-address-bytes", &discovery::DiscoveryLimits::max_address_bytes, "REGISTER: longer addresses get status 3",
     65'536},
    {"--max-names", &discovery::DiscoveryLimits::max_names, "names with instances; a new name past it gets 8"},
    {"--max-instances-per-name", &discovery::DiscoveryLimits::max_instances_per_name,
     "a new instance of a full name gets 8"},
    {"--max-instances", &discovery::DiscoveryLimits::max_instances,
     "instances of all names; a new one past it gets 8"},
    {"--max-registrations-per-connection", &discovery::DiscoveryLimits::max_registrations_per_connection,
     "live instances first registered through one connection; a new one past it gets 8"},
    {"--max-list-bytes", &discovery::DiscoveryLimits::max_list_bytes,
     "longest LIST answer frame (at most --max-frame-bytes); a REGISTER that would pass it gets 8",
     std::size_t{1} << 30},
    {"--max-long-polls-per-connection", &discovery::DiscoveryLimits::max_long_polls_per_connection,
     "LIST long polls waiting on one connection; one more gets 8"},
    {"--max-long-polls", &discovery::DiscoveryLimits::max_long_polls,
     "LIST long polls waiting in total; one more gets 8"},
    {"--max-watch-names", &discovery::DiscoveryLimits::max_watch_names,
     "names in one multi-name LIST; more get status 3"},
};

}  // namespace

void add_discoveryd_flags(CLI::App& app, DiscoverydFlags& f) {
  // Long polls hold a connection for up to 300 s: idle means longer than that.
  f.server.idle_timeout = std::chrono::minutes(10);
  add_common_flags(app, f.common);
  add_server_flags(app, f.server, "127.0.0.1:10200");
  add_settings_flags(app);
  app.add_option("--admin", f.admin, "admin HTTP address: /metrics, /healthz, /readyz")
      ->check(host_port_validator())->capture_default_str();
  add_server_tls_flags(app, f.admin_tls, "--admin-tls");
  app.add_option("--admin-max-connections", f.admin_limits.max_connections,
                 "admin HTTP connections open at once; at the limit a newcomer replaces the one waiting longest "
                 "(>= 1 s) for a request, else gets 503 and is closed")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))->capture_default_str();
  add_policy_flag(app, f.policy_file);
  for (const auto& flag : limit_flags) {
    app.add_option(flag.name, f.limits.*flag.field, flag.help)
        ->check(CLI::Range(std::size_t{1}, flag.max))
        ->capture_default_str();
  }
}

discovery::DiscoveryLimits effective_limits(discovery::DiscoveryLimits limits, std::size_t max_frame_bytes) {
  limits.max_list_bytes = std::min(limits.max_list_bytes, max_frame_bytes);
  return limits;
}

std::set<std::string> discoveryd_limit_settings() {
  std::set<std::string> names;
  for (const auto& flag : limit_flags) names.insert(std::string(flag.name).substr(2));
  return names;
}

}  // namespace routing::app
