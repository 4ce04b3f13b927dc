#include "app/discoveryd_flags.h"

#include "app/settings.h"

#include <algorithm>

namespace routing::app {
namespace {

void add_count(CLI::App& app, const std::string& name, std::size_t& field, const std::string& help,
               std::size_t max = 100'000'000) {
  app.add_option(name, field, help)->check(CLI::Range(std::size_t{1}, max))->capture_default_str();
}

}  // namespace

void add_discoveryd_flags(CLI::App& app, DiscoverydFlags& f) {
  // Long polls hold a connection for up to 300 s: idle means longer than that.
  f.server.idle_timeout = std::chrono::minutes(10);
  add_common_flags(app, f.common);
  add_server_flags(app, f.server, "127.0.0.1:10200");
  add_settings_flags(app);
  app.add_option("--admin", f.admin, "admin HTTP address: /metrics, /healthz, /readyz")
      ->check(host_port_validator())->capture_default_str();
  app.add_option("--admin-max-connections", f.admin_limits.max_connections,
                 "admin HTTP connections open at once; at the limit a newcomer replaces the one waiting longest "
                 "(>= 1 s) for a request, else gets 503 and is closed")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))->capture_default_str();
  auto& l = f.limits;
  add_count(app, "--max-address-bytes", l.max_address_bytes, "REGISTER: longer addresses get status 3", 65'536);
  add_count(app, "--max-names", l.max_names, "names with instances; a new name past it gets 8");
  add_count(app, "--max-instances-per-name", l.max_instances_per_name, "a new instance of a full name gets 8");
  add_count(app, "--max-instances", l.max_instances, "instances of all names; a new one past it gets 8");
  add_count(app, "--max-registrations-per-connection", l.max_registrations_per_connection,
            "live instances first registered through one connection; a new one past it gets 8");
  add_count(app, "--max-list-bytes", l.max_list_bytes,
            "longest LIST answer frame (at most --max-frame-bytes); a REGISTER that would pass it gets 8",
            std::size_t{1} << 30);
  add_count(app, "--max-long-polls-per-connection", l.max_long_polls_per_connection,
            "LIST long polls waiting on one connection; one more gets 8");
  add_count(app, "--max-long-polls", l.max_long_polls, "LIST long polls waiting in total; one more gets 8");
  add_count(app, "--max-watch-names", l.max_watch_names, "names in one multi-name LIST; more get status 3");
}

discovery::DiscoveryLimits effective_limits(const DiscoverydFlags& flags) {
  auto limits = flags.limits;
  limits.max_list_bytes = std::min(limits.max_list_bytes, flags.server.max_frame_bytes);
  return limits;
}

}  // namespace routing::app
