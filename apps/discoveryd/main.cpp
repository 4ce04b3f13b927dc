// discoveryd: the discovery service (CONTRACT §2).
#include "app/control_loop.h"
#include "app/discoveryd_flags.h"
#include "app/logging.h"
#include "app/run.h"
#include "app/settings.h"
#include "discovery/discovery_service.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include <iostream>

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
  app::ServeHooks hooks;
  hooks.before_stop = [&] { service.stop(); };
  int code = app::serve_until_signal(server, hooks);
  control.stop();
  return code;
}
