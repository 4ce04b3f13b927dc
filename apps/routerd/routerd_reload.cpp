#include "routerd_reload.h"

#include "app/policy_flags.h"
#include "app/tls_flags.h"
#include "app/tls_reload.h"
#include "routing/router_core.h"
#include "rpc/host_port.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <set>

namespace routing::app {
namespace {

// Settings a running routerd cannot change: its listeners, loops and frame
// size are set up, its discovery connected, its name bookkeeping sized.
// A reload reports them and keeps their values (CONTRACT section 10).
const std::set<std::string> restart_only{
    "listen", "threads", "max-connections", "idle-timeout-ms", "frame-timeout-ms", "max-frame-bytes",
    "max-calls-per-connection", "trace-log", "zone", "book-systems", "register-as", "advertise", "register-ttl-ms",
    "drain-delay-ms", "drain-timeout-ms", "drain-quiet-ms", "log-format", "admin", "admin-max-connections",
    "discovery", "dns-refresh-ms", "dns-timeout-ms", "unknown-name-ttl-ms", "max-unknown-names",
    "auth-max-failures", "auth-failure-rate", "auth-failure-burst", "config"};

std::string read_token(const std::string& path) {
  std::ifstream in(path);
  std::string token((std::istreambuf_iterator<char>(in)), {});
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

std::optional<std::string> reconfigure_router(core::RouterCore& core, const RouterOptions& wanted) {
  try {
    core.reconfigure(wanted);
    return std::nullopt;
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  }
}

// Why a changed setting keeps its value ("" when it simply cannot change
// while running), or nullopt when it applies.
std::optional<std::string> needs_restart(const std::string& name, const std::string& value,
                                         const std::string& current, proxy::RouterdService& service) {
  if (restart_only.contains(name)) return std::string();
  if (auto why = tls_switch_needs_restart(name, value, current)) return why;
  // A fixed size may change; switching between fixed and adaptive pools may not.
  if (name == "pool-size" && (value == "auto") != (current == "auto")) return std::string("fixed or auto");
  if (name == "access-log") return service.access_log().move_to(value);
  return std::nullopt;
}

}  // namespace

// --register-as must register an address clients can reach, in a
// discovery that takes registrations: refused at start rather than
// registering nothing useful while routerd runs.
static std::optional<std::string> self_registration_problem(const RouterdFlags& f) {
  if (f.register_as.empty()) return std::nullopt;
  if (f.router.discovery.starts_with("static://")) {
    return "--register-as needs a discovery that takes registrations (rpc://, etcd://), not static://";
  }
  const std::string& address = f.advertise.empty() ? f.server.listen : f.advertise;
  auto parsed = rpc::parse_host_port(address);
  if (!parsed) return "--register-as: '" + address + "' is not host:port";
  if (!f.advertise.empty() && parsed->port == 0) return "--advertise needs a port a client can connect to, not 0";
  const bool wildcard = parsed->host == "0.0.0.0" || parsed->host == "::" || parsed->host == "[::]";
  if (f.advertise.empty() && wildcard) {
    return "--register-as with --listen " + address + " needs --advertise HOST:PORT: clients cannot connect to " +
           parsed->host;
  }
  return std::nullopt;
}

std::optional<std::string> finish_routerd_flags(RouterdFlags& f, const CLI::App& cli) {
  if (!f.auth_token_file.empty()) f.proxy.auth_token = read_token(f.auth_token_file);
  const bool auth_on = !f.auth_token_file.empty() || cli.count("--auth-token") || !f.proxy.auth_token.empty();
  if (auto why = auth_on ? check_auth_token(f.proxy.auth_token) : std::nullopt) return why;
  f.router.max_frame_bytes = f.server.max_frame_bytes;
  f.router.trace_log = f.server.trace_log;  // routerd's client spans, beside its server spans
  f.server.service_name = "routerd";
  f.router.threads = f.server.threads;
  try {
    core::RouterCore::validate(f.router);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  if (auto why = server_tls_problem(f.server)) return why;
  if (auto why = server_tls_problem(f.admin_tls)) return "--admin-tls-cert/--admin-tls-key: " + *why;
  if (auto why = self_registration_problem(f)) return why;
  auto loaded = load_policy_flag(f.policy_file, f.server);
  f.policy = std::move(loaded.policy);
  return loaded.error;
}

RouterdReload::RouterdReload(const CLI::App& cli, std::vector<std::string> command_line, std::string token)
    : settings_(cli, declare_with(&add_routerd_flags), "ROUTERD_", std::move(command_line), {"auth-token"}),
      token_(std::move(token)) {}

void RouterdReload::reload(proxy::RouterdService& service, rpc::Server& server, admin::AdminServer& admin,
                           core::RouterCore* core) {
  CLI::App cli{"routerd", "routerd"};
  RouterdFlags fresh;
  add_routerd_flags(cli, fresh);
  bool tls_read = false;
  settings_.reload(
      cli, ReloadSteps{
               .check_and_apply = [&]() -> std::optional<std::string> {
                 if (auto why = finish_routerd_flags(fresh, cli)) return why;
                 // Every step that can fail comes before any that changes something.
                 std::string error;
                 auto listener = listener_tls_from(fresh.server.tls, server.tls_context() != nullptr, error);
                 if (!error.empty()) return "--tls-cert/--tls-key: " + error;
                 auto admin_tls = listener_tls_from(fresh.admin_tls, admin.tls_enabled(), error);
                 if (!error.empty()) return "--admin-tls-cert/--admin-tls-key: " + error;
                 if (auto why = core ? reconfigure_router(*core, fresh.router) : std::nullopt) return why;
                 if (listener) server.set_tls(*listener);
                 if (admin_tls) admin.set_tls(*admin_tls);
                 tls_read = listener || admin_tls || (core && core->backend_certificate_expiry());
                 return std::nullopt;
               },
               .keep = [&](const std::string& name, const std::string& value,
                           const std::string& current) { return needs_restart(name, value, current, service); },
               .finish = [&](const std::vector<std::string>& applied) {
                 service.set_rate_limits(fresh.proxy.rate_limit, fresh.proxy.rate_burst);
                 // The same file (or variable) with new contents names no setting.
                 auto named = [&](const char* name) {
                   return std::find(applied.begin(), applied.end(), name) != applied.end();
                 };
                 std::vector<std::string> more;
                 if (tls_read) more.push_back("TLS files (read again)");
                 if (service.policy().replace(fresh.policy) && !named("policy")) more.push_back("policy");
                 if (fresh.proxy.auth_token == token_) return more;
                 service.set_auth_token(fresh.proxy.auth_token);
                 token_ = fresh.proxy.auth_token;
                 if (!named("auth-token") && !named("auth-token-file")) more.push_back("auth token");
                 return more;
               }});
}

void RouterdReload::reopen_logs(proxy::RouterdService& service, core::RouterCore* core) {
  // The router's client spans (the server's own are reopened by the caller).
  if (auto error = core ? core->reopen_trace_log() : std::nullopt) {
    spdlog::error("SIGUSR1: {}; the router writes on to the old file", *error);
  }
  if (auto error = service.access_log().reopen()) {
    spdlog::error("SIGUSR1: cannot reopen the access log {}: {}; writing on to the old file", service.access_log().path(),
                  *error);
    return;
  }
  spdlog::info("SIGUSR1: {}", service.access_log().path().empty() || service.access_log().path() == "-"
                                  ? "no log file to reopen"
                                  : "reopened the access log " + service.access_log().path());
}

}  // namespace routing::app
