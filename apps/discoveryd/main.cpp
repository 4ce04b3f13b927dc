// discoveryd: the discovery service (CONTRACT §2).
#include "admin/admin_http.h"
#include "admin/process_metrics.h"
#include "app/policy_flags.h"
#include "app/tls_flags.h"
#include "app/tls_reload.h"
#include "app/control_loop.h"
#include "app/discoveryd_flags.h"
#include "app/logging.h"
#include "app/run.h"
#include "app/settings.h"
#include "app/settings_reload.h"
#include "discovery/discovery_metrics.h"
#include "discovery/discovery_service.h"
#include "rpc/address.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <iostream>
#include <memory>

namespace {

void warn_if_long_polls_can_take_every_connection(const routing::discovery::DiscoveryLimits& limits,
                                                  const routing::rpc::ServerOptions& server) {
  if (limits.max_long_polls < server.max_connections) return;
  spdlog::warn("--max-long-polls {} is not below --max-connections {}: watchers can take every connection",
               limits.max_long_polls, server.max_connections);
}

// SIGHUP: the limits, the policy, the listener's TLS files and the log
// level change; the rest needs a restart (`running`: the server options
// discoveryd started with).
void reload(routing::app::SettingsReload& settings, routing::discovery::DiscoveryService& service,
            routing::rpc::Server& server, routing::admin::AdminServer& admin,
            const routing::rpc::ServerOptions& running) {
  using namespace routing;
  CLI::App cli;
  app::DiscoverydFlags fresh;
  app::add_discoveryd_flags(cli, fresh);
  app::ReloadSteps steps;
  bool policy_changed = false;
  steps.check_and_apply = [&]() -> std::optional<std::string> {
    // The file is read again even when its name did not change. Checked
    // against the listener settings as they will be (a reload that drops
    // --tls-client-ca but keeps a policy would refuse every registration).
    auto loaded = app::load_policy_flag(fresh.policy_file, fresh.server);
    if (loaded.error) return loaded.error;
    std::string error;
    auto listener = app::listener_tls_from(fresh.server.tls, server.tls_context() != nullptr, error);
    if (!error.empty()) return "--tls-cert/--tls-key: " + error;
    auto admin_tls = app::listener_tls_from(fresh.admin_tls, admin.tls_enabled(), error);
    if (!error.empty()) return "--admin-tls-cert/--admin-tls-key: " + error;
    if (listener) server.set_tls(*listener);
    if (admin_tls) admin.set_tls(*admin_tls);
    warn_if_long_polls_can_take_every_connection(fresh.limits, running);
    service.set_limits(app::effective_limits(fresh.limits, running.max_frame_bytes));
    policy_changed = service.policy().replace(std::move(loaded.policy));
    return std::nullopt;
  };
  auto changeable = app::discoveryd_limit_settings();
  changeable.insert({"policy", "tls-cert", "tls-key", "tls-client-ca", "admin-tls-cert", "admin-tls-key",
                     "admin-tls-client-ca"});
  steps.keep = [keep = app::keep_all_but(std::move(changeable))](const std::string& name, const std::string& value,
                                                                 const std::string& current) {
    if (auto why = app::tls_switch_needs_restart(name, value, current)) return why;
    return keep(name, value, current);
  };
  // The same file with new rules names no setting.
  steps.finish = [&](const std::vector<std::string>& applied) {
    const bool named = std::find(applied.begin(), applied.end(), "policy") != applied.end();
    return policy_changed && !named ? std::vector<std::string>{"policy"} : std::vector<std::string>{};
  };
  settings.reload(cli, steps);
}

std::string admin_tls_failures_text(const routing::admin::AdminServer& admin) {
  return "# HELP discoveryd_admin_tls_handshake_failures_total Admin HTTPS connections refused at the TLS "
         "handshake (--admin-tls-*).\n# TYPE discoveryd_admin_tls_handshake_failures_total counter\n"
         "discoveryd_admin_tls_handshake_failures_total " +
         std::to_string(admin.stats().tls_handshake_failures_total) + "\n";
}

void warn_of_expiring_certificates(const routing::rpc::Server& server, const routing::admin::AdminServer& admin) {
  using namespace routing;
  app::warn_if_expiring(app::expiry_of(server.tls_context()), "the listener's TLS certificate (--tls-cert)");
  app::warn_if_expiring(app::expiry_of(admin.tls_context()), "the admin listener's TLS certificate (--admin-tls-cert)");
}

}  // namespace

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
  if (auto why = app::server_tls_problem(flags.server)) {
    std::cerr << "discoveryd: " << *why << "\n";
    return 2;
  }
  if (auto why = app::server_tls_problem(flags.admin_tls)) {
    std::cerr << "discoveryd: --admin-tls-cert/--admin-tls-key: " << *why << "\n";
    return 2;
  }
  auto policy = app::load_policy_flag(flags.policy_file, flags.server);
  if (policy.error) {
    std::cerr << "discoveryd: " << *policy.error << "\n";
    return 2;
  }
  if (app::checking_config(app)) {
    std::cout << "ok\n";
    return 0;
  }

  app::SettingsReload settings(app, app::declare_with(&app::add_discoveryd_flags), "DISCOVERYD_",
                               std::vector<std::string>(argv + 1, argv + argc));
  app::init_logging("discoveryd", flags.common);
  warn_if_long_polls_can_take_every_connection(flags.limits, flags.server);
  // Declared first, destroyed last: the service's timer lives on this loop.
  app::ControlLoop control;
  discovery::DiscoveryService service(app::effective_limits(flags.limits, flags.server.max_frame_bytes));
  flags.server.service_name = "discoveryd";
  rpc::Server server(flags.server);
  service.policy().set(std::move(policy.policy));
  service.register_procedures(server);
  std::atomic<bool> serving{false};  // /readyz: from the first accept until SIGTERM
  std::atomic<bool> draining{false};
  std::unique_ptr<admin::AdminServer> admin_server;
  admin::AdminPages pages;
  pages.metrics = [&] {
    std::vector<app::CertificateExpiry> certificates;
    if (auto expiry = app::expiry_of(server.tls_context())) certificates.push_back({"listener", *expiry});
    if (auto expiry = app::expiry_of(admin_server->tls_context())) certificates.push_back({"admin", *expiry});
    return discovery::prometheus_text(
               {service.stats(), server.stats(), draining.load(), settings.reloads(), settings.failures()}) +
           app::expiry_metrics_text("discoveryd", certificates) + admin_tls_failures_text(*admin_server) +
           admin::process_metrics_text("discoveryd");
  };
  pages.ready = [&] { return serving.load() && !draining.load(); };
  pages.config = [&] { return settings.text(); };
  try {
    admin_server = std::make_unique<admin::AdminServer>(
        control.executor(), "discoveryd", flags.admin, std::move(pages), flags.admin_limits,
        flags.admin_tls.enabled() ? rpc::tls::Context::server(flags.admin_tls) : nullptr);
  } catch (const std::exception& e) {
    spdlog::critical("cannot listen on admin address {}: {}", flags.admin, e.what());
    return 1;
  }
  spdlog::info("admin endpoint on {}://{}", flags.admin_tls.enabled() ? "https" : "http",
               rpc::format_host_port(admin_server->local_endpoint()));
  // Only now: an early exit above must not leave the expiry timer waiting on
  // the loop while the service that owns it is destroyed (ASan found it).
  boost::asio::co_spawn(control.executor(), service.run_expiry(), boost::asio::detached);
  app::ServeHooks hooks;
  hooks.after_start = [&] {
    serving = true;
    warn_of_expiring_certificates(server, *admin_server);
  };
  hooks.before_stop = [&] {
    draining = true;  // /readyz turns 503
    service.stop();   // LISTs answered at once, so that watchers move to the successor
  };
  hooks.on_reload = [&] {
    reload(settings, service, server, *admin_server, flags.server);
    warn_of_expiring_certificates(server, *admin_server);
  };
  int code = app::serve_until_signal(server, hooks);
  admin_server->stop();
  control.stop();
  return code;
}
