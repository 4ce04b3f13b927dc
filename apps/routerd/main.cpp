// routerd: the router as a standalone proxy (CONTRACT §3, §6).
#include "app/common_flags.h"
#include "app/control_loop.h"
#include "app/logging.h"
#include "app/run.h"
#include "proxy/admin_http.h"
#include "proxy/routerd_service.h"
#include "rpc/address.h"

#include <spdlog/spdlog.h>

#include <fstream>

namespace {

using namespace routing;
using std::chrono::milliseconds;

struct Flags {
  app::CommonOptions common;
  rpc::ServerOptions server;
  RouterOptions router;
  proxy::ProxyOptions proxy;
  std::string admin = "127.0.0.1:10301";
  std::string auth_token_file;
};

// A flag in milliseconds stored as a std::chrono::milliseconds field.
void add_millis(CLI::App& app, const std::string& name, milliseconds& field, const std::string& help, long min) {
  app.add_option_function<long>(name, [&field](long ms) { field = milliseconds(ms); }, help)
      ->check(CLI::Range(min, 86'400'000L))
      ->default_str(std::to_string(field.count()));
}

void add_flags(CLI::App& app, Flags& f) {
  app::add_common_flags(app, f.common);
  app::add_server_flags(app, f.server, "127.0.0.1:10300");
  app.set_config("--config", "", "TOML file with any of these settings (name = value)");
  app.add_option("--admin", f.admin, "admin HTTP address: /metrics, /healthz, /status")
      ->check(app::host_port_validator())->capture_default_str();
  app.add_option("--discovery", f.router.discovery, "rpc://HOST:PORT, etcd://HOST:PORT[,...] or static://...")
      ->check(app::discovery_url_validator())->capture_default_str();
  app.add_option("--strategy", f.router.strategy, "round-robin, random, least-connections or pick-2")
      ->check(CLI::IsMember({"round-robin", "random", "least-connections", "pick-2"}))->capture_default_str();
  app.add_option("--pool-size", f.router.pool_size,
                 "per system: calls in flight at once, and connections open (in use + idle)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))->capture_default_str();
  app.add_option("--max-pending", f.router.max_pending, "per system: calls that may wait for a slot; more get 8")
      ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}))->capture_default_str();
  add_millis(app, "--request-timeout-ms", f.router.request_timeout, "default deadline of a call", 1);
  add_millis(app, "--connect-timeout-ms", f.router.connect_timeout, "one connection attempt to a backend", 1);
  add_millis(app, "--backend-idle-timeout-ms", f.router.idle_timeout, "close pooled backend connections idle this long", 1);
  add_millis(app, "--health-check-interval-ms", f.router.health_check_interval, "ping each backend this often (0: never)", 0);
  app.add_option("--eject-after", f.router.eject_after, "failed calls in a row that eject a backend")
      ->check(CLI::Range(1u, 1'000'000u))->capture_default_str();
  app.add_option("--max-ejected-percent", f.router.max_ejected_percent, "share of a system's backends that may be ejected")
      ->check(CLI::Range(0u, 100u))->capture_default_str();
  app.add_option("--rate-limit", f.proxy.rate_limit, "calls per second per system (0: unlimited); over it, status 8")
      ->check(CLI::Range(0.0, 1e9))->capture_default_str();
  app.add_option("--rate-burst", f.proxy.rate_burst, "calls a system may burst above the rate (0: the rate)")
      ->check(CLI::Range(0.0, 1e9))->capture_default_str();
  app.add_option("--auth-token", f.proxy.auth_token,
                 "require clients to authenticate (procedure 4) with this token; prefer --auth-token-file");
  app.add_option("--auth-token-file", f.auth_token_file, "read the token from this file")->check(CLI::ExistingFile);
  app.add_option("--access-log", f.proxy.access_log, "one JSON line per call to this file ('-': stderr)");
  app::add_env_names(app, "ROUTERD_");
}

std::string read_token(const std::string& path) {
  std::ifstream in(path);
  std::string token((std::istreambuf_iterator<char>(in)), {});
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"routerd: routes calls to systems found through discovery, as a proxy; answers ROUTE (1), "
               "SET_STRATEGY (2), STATUS (3) and AUTHENTICATE (4)",
               "routerd"};
  Flags f;
  add_flags(cli, f);
  if (int code = app::parse_flags(cli, argc, argv); code >= 0) return code;
  if (!f.auth_token_file.empty()) f.proxy.auth_token = read_token(f.auth_token_file);
  if ((!f.auth_token_file.empty() || cli.count("--auth-token")) && f.proxy.auth_token.empty()) {
    std::cerr << "routerd: the auth token is empty\n";
    return 2;
  }
  f.router.max_frame_bytes = f.server.max_frame_bytes;
  f.router.threads = f.server.threads;
  try {
    core::RouterCore::validate(f.router);
  } catch (const std::invalid_argument& e) {
    std::cerr << "routerd: " << e.what() << "\n";
    return 2;
  }

  app::init_logging("routerd", f.common.log_level);
  std::unique_ptr<proxy::RouterdService> service;
  try {
    service = std::make_unique<proxy::RouterdService>(f.proxy);
  } catch (const std::exception& e) {
    spdlog::critical("cannot open the access log: {}", e.what());
    return 1;
  }
  rpc::Server server(f.server);
  service->register_procedures(server);

  std::unique_ptr<core::RouterCore> core;
  std::atomic<core::RouterCore*> core_ready{nullptr};
  app::ControlLoop control;
  std::unique_ptr<proxy::AdminServer> admin;
  try {
    admin = std::make_unique<proxy::AdminServer>(
        control.executor(), f.admin,
        proxy::AdminPages{
            .metrics = [&] {
              auto* c = core_ready.load();
              return proxy::prometheus_text(c ? c->stats() : RouterStats{}, service->proxy_stats(server));
            },
            .status = [&] {
              auto* c = core_ready.load();
              return proxy::status_json(c ? c->stats() : RouterStats{}, service->proxy_stats(server));
            },
            .healthy = [&] { return core_ready.load() != nullptr && !service->draining(); }});
  } catch (const std::exception& e) {
    spdlog::critical("cannot listen on admin address {}: {}", f.admin, e.what());
    return 1;
  }
  spdlog::info("admin endpoint on http://{}", rpc::format_host_port(admin->local_endpoint()));

  app::ServeHooks hooks;
  hooks.after_start = [&] {
    // The router runs on the server's own loops: a call never changes thread.
    core = std::make_unique<core::RouterCore>(f.router, server.executors());
    core->start();
    service->attach(*core);
    core_ready = core.get();
    spdlog::info("routing with discovery {}, strategy {}, pool size {}", f.router.discovery, f.router.strategy,
                 f.router.pool_size);
  };
  hooks.before_stop = [&] { service->set_draining(); };  // /healthz turns 503
  hooks.when_drained = [&] {
    if (auto* c = core_ready.load()) c->request_stop();
  };
  int code = app::serve_until_signal(server, hooks);
  admin->stop();
  control.stop();
  core_ready = nullptr;
  return code;
}
