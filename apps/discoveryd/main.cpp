// discoveryd: the discovery service (CONTRACT §2).
#include "app/common_flags.h"
#include "app/control_loop.h"
#include "app/logging.h"
#include "app/run.h"
#include "discovery/discovery_service.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>

int main(int argc, char** argv) {
  using namespace routing;
  CLI::App app{"discoveryd: registers service instances under names, with leases; "
               "answers REGISTER (1), QUERY (2), LIST (3, long poll) and DEREGISTER (4)",
               "discoveryd"};
  app::CommonOptions common;
  rpc::ServerOptions server_options;
  // Long polls hold a connection for up to 300 s: idle means longer than that.
  server_options.idle_timeout = std::chrono::minutes(10);
  app::add_common_flags(app, common);
  app::add_server_flags(app, server_options, "127.0.0.1:10200");
  if (int code = app::parse_flags(app, argc, argv); code >= 0) return code;

  app::init_logging("discoveryd", common.log_level);
  // Declared first, destroyed last: the service's timer lives on this loop.
  app::ControlLoop control;
  discovery::DiscoveryService service;
  rpc::Server server(server_options);
  service.register_procedures(server);
  boost::asio::co_spawn(control.executor(), service.run_expiry(), boost::asio::detached);
  app::ServeHooks hooks;
  hooks.before_stop = [&] { service.stop(); };
  int code = app::serve_until_signal(server, hooks);
  control.stop();
  return code;
}
