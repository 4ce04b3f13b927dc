// discoveryd: the discovery service (CONTRACT §2).
#include "admin/admin_http.h"
#include "admin/process_metrics.h"
#include "app/control_loop.h"
#include "app/discoveryd_flags.h"
#include "app/logging.h"
#include "app/run.h"
#include "app/settings.h"
#include "discovery/discovery_metrics.h"
#include "discovery/discovery_service.h"
#include "rpc/address.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include <atomic>
#include <iostream>
#include <memory>

int main(int argc, char** argv) {
  using namespace routing;
  CLI::App app{"discoveryd: registers service instances under names, with leases; "
               "answers REGISTER (1), QUERY (2), LIST (3, long poll) and DEREGISTER (4)",
               "discoveryd"};
  app::DiscoverydFlags flags;
  app::add_discoveryd_flags(app, flags);
  if (int code = app::parse_settings(app, app::declare_with(&app::add_discoveryd_flags), "DISCOVERYD_", argc, argv);
      code >= 0) {
    return code;
  }
  if (app::checking_config(app)) {
    std::cout << "ok\n";
    return 0;
  }

  app::init_logging("discoveryd", flags.common);
  if (flags.limits.max_long_polls >= flags.server.max_connections) {
    spdlog::warn("--max-long-polls {} is not below --max-connections {}: watchers can take every connection",
                 flags.limits.max_long_polls, flags.server.max_connections);
  }
  // Declared first, destroyed last: the service's timer lives on this loop.
  app::ControlLoop control;
  discovery::DiscoveryService service(app::effective_limits(flags));
  rpc::Server server(flags.server);
  service.register_procedures(server);
  boost::asio::co_spawn(control.executor(), service.run_expiry(), boost::asio::detached);
  std::atomic<bool> serving{false};  // /readyz: from the first accept until SIGTERM
  std::atomic<bool> draining{false};
  std::unique_ptr<admin::AdminServer> admin_server;
  try {
    admin_server = std::make_unique<admin::AdminServer>(
        control.executor(), "discoveryd", flags.admin,
        admin::AdminPages{
            .metrics = [&] {
              return discovery::prometheus_text({service.stats(), server.stats(), draining.load()}) +
                     admin::process_metrics_text("discoveryd");
            },
            .ready = [&] { return serving.load() && !draining.load(); }},
        flags.admin_limits);
  } catch (const std::exception& e) {
    spdlog::critical("cannot listen on admin address {}: {}", flags.admin, e.what());
    return 1;
  }
  spdlog::info("admin endpoint on http://{}", rpc::format_host_port(admin_server->local_endpoint()));
  app::ServeHooks hooks;
  hooks.after_start = [&] { serving = true; };
  hooks.before_stop = [&] {
    draining = true;  // /readyz turns 503
    service.stop();   // LISTs answered at once, so that watchers move to the successor
  };
  int code = app::serve_until_signal(server, hooks);
  admin_server->stop();
  control.stop();
  return code;
}
