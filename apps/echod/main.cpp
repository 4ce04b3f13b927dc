// echod: the example backend (CONTRACT §4).
#include "app/echod_flags.h"
#include "app/settings.h"
#include "app/settings_reload.h"
#include "app/control_loop.h"
#include "app/logging.h"
#include "app/run.h"
#include "app/tls_flags.h"
#include "app/tls_reload.h"
#include "discovery/discovery_url.h"
#include "discovery/registration.h"
#include "routing/backend_tls.h"
#include "echo/echo_service.h"
#include "rpc/address.h"

#include <spdlog/spdlog.h>

#include <iostream>

int main(int argc, char** argv) {
  using namespace routing;
  CLI::App app{"echod: example line-protocol backend answering ECHO (1), SLOW_ECHO (2) and WHOAMI (3)",
               "echod"};
  app::EchodFlags f;
  app::add_echod_flags(app, f);
  if (int code = app::parse_settings(app, app::declare_with(&app::add_echod_flags), "ECHOD_", argc, argv); code >= 0) {
    return code;
  }
  if (auto why = app::server_tls_problem(f.server)) {
    std::cerr << "echod: " << *why << "\n";
    return 2;
  }
  std::shared_ptr<const rpc::tls::Context> discovery_tls;
  try {
    discovery_tls = core::BackendTls(f.discovery_tls).context();
    if (!f.discovery_url.empty() && discovery::parse_discovery_url(f.discovery_url).tls && !discovery_tls) {
      throw std::invalid_argument("--discovery " + f.discovery_url + " speaks TLS: give --tls-ca to verify it with");
    }
  } catch (const std::invalid_argument& e) {
    std::cerr << "echod: " << e.what() << "\n";
    return 2;
  }
  if (app::checking_config(app)) {
    std::cout << "ok\n";
    return 0;
  }
  const std::string& name = f.name;
  const std::string& discovery_url = f.discovery_url;
  const std::string& advertise = f.advertise;
  auto speed = f.speed;
  if (f.change_after_s >= 0) speed.change_after = std::chrono::milliseconds(static_cast<long>(f.change_after_s * 1000));

  app::SettingsReload settings(app, app::declare_with(&app::add_echod_flags), "ECHOD_",
                               std::vector<std::string>(argv + 1, argv + argc));
  app::init_logging("echod", f.common);
  f.server.tagged_frames = !f.line_protocol_only;
  f.server.service_name = "echod";
  rpc::Server server(f.server);
  echo::register_echo_service(server, advertise, speed);

  app::ControlLoop control;
  std::unique_ptr<discovery::Discovery> discovery;
  std::unique_ptr<discovery::Registration> registration;
  app::ServeHooks hooks;
  hooks.after_start = [&] {
    spdlog::info("serving system '{}'", name);
    app::warn_if_expiring(app::expiry_of(server.tls_context()), "the listener's TLS certificate (--tls-cert)");
    app::warn_if_expiring(app::expiry_of(discovery_tls),
                          "the client certificate to discovery (--upstream-tls-cert; restart to rotate it)");
    if (discovery_url.empty()) return;
    std::string address = advertise.empty() ? rpc::format_host_port(server.local_endpoint()) : advertise;
    discovery = discovery::make_discovery(discovery_url, control.executor(), {.tls = discovery_tls});
    discovery::Placement placement{f.zone, static_cast<std::uint32_t>(f.weight), {}};
    registration = std::make_unique<discovery::Registration>(*discovery, name, address,
                                                             std::chrono::milliseconds(f.ttl_ms),
                                                             discovery::DiscoveryOptions{}, std::move(placement));
    registration->start();
  };
  // Deregister first, so routers stop sending new calls, then drain.
  hooks.before_stop = [&] {
    if (registration) registration->stop_blocking(std::chrono::seconds(3));
  };
  // SIGHUP: the log level and the listener's TLS files change; the rest
  // needs a restart (logged).
  hooks.on_reload = [&] {
    CLI::App cli;
    app::EchodFlags fresh;
    app::add_echod_flags(cli, fresh);
    app::ReloadSteps steps;
    steps.check_and_apply = [&]() -> std::optional<std::string> {
      std::string error;
      auto listener = app::listener_tls_from(fresh.server.tls, server.tls_context() != nullptr, error);
      if (!error.empty()) return "--tls-cert/--tls-key: " + error;
      if (listener) server.set_tls(*listener);
      return std::nullopt;
    };
    steps.keep = [keep = app::keep_all_but({"tls-cert", "tls-key", "tls-client-ca"})](
                     const std::string& name, const std::string& value, const std::string& current) {
      if (auto why = app::tls_switch_needs_restart(name, value, current)) return why;
      return keep(name, value, current);
    };
    settings.reload(cli, steps);
    app::warn_if_expiring(app::expiry_of(server.tls_context()), "the listener's TLS certificate (--tls-cert)");
  };
  int code = app::serve_until_signal(server, hooks);
  registration.reset();
  control.stop();
  return code;
}
