// echod: the example backend (CONTRACT §4).
#include "app/common_flags.h"
#include "app/control_loop.h"
#include "app/logging.h"
#include "app/run.h"
#include "discovery/registration.h"
#include "echo/echo_service.h"
#include "rpc/address.h"

#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  using namespace routing;
  CLI::App app{"echod: example line-protocol backend answering ECHO (1), SLOW_ECHO (2) and WHOAMI (3)",
               "echod"};
  app::CommonOptions common;
  rpc::ServerOptions server_options;
  std::string name = "echo";
  std::string discovery_url;
  std::string advertise;
  long ttl_ms = 10000;
  echo::EchoSpeed speed;
  double change_after_s = -1;
  app::add_common_flags(app, common);
  app::add_server_flags(app, server_options, "127.0.0.1:7001");
  app.add_option("--name", name, "system name this instance serves (registered with discovery)")
      ->capture_default_str();
  app.add_option("--discovery", discovery_url,
                 "register with this discovery and keep the lease alive: rpc://HOST:PORT, "
                 "etcd://HOST:PORT[,HOST:PORT...] or static://NAME=ADDR,...")
      ->check(app::discovery_url_validator());
  app.add_option("--advertise", advertise,
                 "address to register and answer WHOAMI with (default: the listening address)")
      ->check(app::host_port_validator());
  app.add_option("--ttl-ms", ttl_ms, "lease time of the registration")
      ->check(CLI::Range(1L, 604'800'000L))
      ->capture_default_str();
  app.add_option("--speed", speed.speed, "SLOW_ECHO waits its milliseconds divided by this (2: twice as fast)")
      ->check(CLI::Range(0.001, 1000.0))
      ->capture_default_str();
  app.add_option("--speed-change-after-s", change_after_s,
                 "after this many seconds, serve at --later-speed (a backend that slows down mid-run)")
      ->check(CLI::Range(0.0, 86400.0));
  app.add_option("--later-speed", speed.later_speed, "the speed after --speed-change-after-s")
      ->check(CLI::Range(0.001, 1000.0))
      ->capture_default_str();
  if (int code = app::parse_flags(app, argc, argv); code >= 0) return code;
  if (change_after_s >= 0) speed.change_after = std::chrono::milliseconds(static_cast<long>(change_after_s * 1000));

  app::init_logging("echod", common.log_level);
  rpc::Server server(server_options);
  echo::register_echo_service(server, advertise, speed);

  app::ControlLoop control;
  std::unique_ptr<discovery::Discovery> discovery;
  std::unique_ptr<discovery::Registration> registration;
  app::ServeHooks hooks;
  hooks.after_start = [&] {
    spdlog::info("serving system '{}'", name);
    if (discovery_url.empty()) return;
    std::string address = advertise.empty() ? rpc::format_host_port(server.local_endpoint()) : advertise;
    discovery = discovery::make_discovery(discovery_url, control.executor());
    registration = std::make_unique<discovery::Registration>(*discovery, name, address,
                                                             std::chrono::milliseconds(ttl_ms));
    registration->start();
  };
  // Deregister first, so routers stop sending new calls, then drain.
  hooks.before_stop = [&] {
    if (registration) registration->stop_blocking(std::chrono::seconds(3));
  };
  int code = app::serve_until_signal(server, hooks);
  registration.reset();
  control.stop();
  return code;
}
