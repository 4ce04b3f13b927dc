// routerd: the router as a standalone proxy (CONTRACT §3, §6).
#include "app/routerd_flags.h"
#include "app/control_loop.h"
#include "app/logging.h"
#include "app/run.h"
#include "app/settings.h"
#include "app/tls_reload.h"
#include "routerd_reload.h"
#include "self_registration.h"
#include "admin/admin_http.h"
#include "admin/process_metrics.h"
#include "proxy/status_page.h"
#include "proxy/routerd_service.h"
#include "rpc/address.h"

#include <spdlog/spdlog.h>

#include <fstream>

namespace {

using namespace routing;
using std::chrono::milliseconds;

// At start and after each reload (docs/security.md, "Rotating certificates").
void warn_of_expiring_certificates(const rpc::Server& server, const admin::AdminServer& admin,
                                   const core::RouterCore* core) {
  app::warn_if_expiring(app::expiry_of(server.tls_context()), "the listener's TLS certificate (--tls-cert)");
  app::warn_if_expiring(app::expiry_of(admin.tls_context()), "the admin listener's TLS certificate (--admin-tls-cert)");
  if (core) {
    app::warn_if_expiring(core->backend_certificate_expiry(), "the client certificate to backends (--upstream-tls-cert)");
    app::warn_if_expiring(core->discovery_certificate_expiry(),
                          "the client certificate to discovery (--upstream-tls-cert as read at start; restart to "
                          "rotate it)");
  }
}

std::string certificate_expiry_metrics(const rpc::Server& server, const admin::AdminServer& admin,
                                       const core::RouterCore* core) {
  std::vector<app::CertificateExpiry> certificates;
  if (auto expiry = app::expiry_of(server.tls_context())) certificates.push_back({"listener", *expiry});
  if (auto expiry = app::expiry_of(admin.tls_context())) certificates.push_back({"admin", *expiry});
  if (auto expiry = core ? core->backend_certificate_expiry() : std::nullopt) certificates.push_back({"upstream", *expiry});
  if (auto expiry = core ? core->discovery_certificate_expiry() : std::nullopt) {
    certificates.push_back({"discovery", *expiry});
  }
  return app::expiry_metrics_text("routerd", certificates);
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"routerd: routes calls to systems found through discovery, as a proxy; answers ROUTE (1), "
               "SET_STRATEGY (2), STATUS (3), AUTHENTICATE (4), DRAIN (5) and UNDRAIN (6)",
               "routerd"};
  app::RouterdFlags f;
  app::add_routerd_flags(cli, f);
  if (int code = app::parse_settings(cli, app::declare_with(&app::add_routerd_flags), "ROUTERD_", argc, argv);
      code >= 0) {
    return code;
  }
  if (auto why = app::finish_routerd_flags(f, cli)) {
    std::cerr << "routerd: " << *why << "\n";
    return 2;
  }
  if (app::checking_config(cli)) {
    std::cout << "ok\n";
    return 0;
  }
  app::RouterdReload reload(cli, std::vector<std::string>(argv + 1, argv + argc), f.proxy.auth_token);

  app::init_logging("routerd", f.common);
  std::unique_ptr<proxy::RouterdService> service;
  try {
    service = std::make_unique<proxy::RouterdService>(f.proxy);
  } catch (const std::exception& e) {
    spdlog::critical("cannot open the access log: {}", e.what());
    return 1;
  }
  service->policy().set(f.policy);
  rpc::Server server(f.server);
  service->register_procedures(server);

  std::unique_ptr<core::RouterCore> core;
  std::atomic<core::RouterCore*> core_ready{nullptr};
  app::ControlLoop control;
  std::unique_ptr<proxy::AdminServer> admin;
  try {
    admin = std::make_unique<proxy::AdminServer>(
        control.executor(), "routerd", f.admin,
        proxy::AdminPages{
            .metrics = [&] {
              auto* c = core_ready.load();
              auto proxy_stats = service->proxy_stats(server);
              proxy_stats.admin = admin->stats();
              proxy_stats.config_reloads = reload.settings().reloads();
              proxy_stats.config_reload_failures = reload.settings().failures();
              return proxy::prometheus_text(c ? c->stats() : RouterStats{}, proxy_stats) +
                     certificate_expiry_metrics(server, *admin, c) + admin::process_metrics_text("routerd");
            },
            .status = [&] {
              auto* c = core_ready.load();
              return proxy::status_json(c ? c->stats() : RouterStats{}, service->proxy_stats(server));
            },
            .ready = [&] { return core_ready.load() != nullptr && !service->draining(); },
            .config = [&] { return reload.settings().text(); },
            .index = [&] {
              auto* c = core_ready.load();
              return proxy::status_page(proxy::status_json(c ? c->stats() : RouterStats{}, service->proxy_stats(server)));
            }},
        f.admin_limits, f.admin_tls.enabled() ? rpc::tls::Context::server(f.admin_tls) : nullptr);
  } catch (const std::exception& e) {
    spdlog::critical("cannot listen on admin address {}: {}", f.admin, e.what());
    return 1;
  }
  spdlog::info("admin endpoint on {}://{}", f.admin_tls.enabled() ? "https" : "http",
               rpc::format_host_port(admin->local_endpoint()));

  std::unique_ptr<app::SelfRegistration> self_registration;  // --register-as
  app::ServeHooks hooks;
  hooks.after_start = [&] {
    // The router runs on the server's own loops: a call never changes thread.
    core = std::make_unique<core::RouterCore>(f.router, server.executors());
    core->start();
    service->attach(*core);
    core_ready = core.get();
    warn_of_expiring_certificates(server, *admin, core.get());
    spdlog::info("routing with discovery {}, strategy {}, pool size {}", f.router.discovery, f.router.strategy,
                 f.router.adaptive_pool ? "auto (up to " + std::to_string(f.router.adaptive_max_pool) + ")"
                                        : std::to_string(f.router.pool_size));
    if (!f.register_as.empty()) {
      self_registration = std::make_unique<app::SelfRegistration>(
          f, control.executor(), f.advertise.empty() ? rpc::format_host_port(server.local_endpoint()) : f.advertise);
    }
  };
  hooks.before_stop = [&] {
    service->set_draining();  // /readyz turns 503
    if (self_registration) self_registration->stop();  // clients stop choosing this routerd
  };
  hooks.on_reload = [&] {
    reload.reload(*service, server, *admin, core_ready.load());
    warn_of_expiring_certificates(server, *admin, core_ready.load());
  };
  hooks.on_reopen_logs = [&] { reload.reopen_logs(*service, core_ready.load()); };
  hooks.when_drained = [&] {
    if (auto* c = core_ready.load()) c->request_stop();
  };
  int code = app::serve_until_signal(server, hooks);
  admin->stop();
  control.stop();
  core_ready = nullptr;
  return code;
}
