#include "settings_reload.h"

#include "app/logging.h"
#include "routing/router_core.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <fstream>
#include <set>

namespace routing::app {
namespace {

const std::vector<std::string> secrets{"auth-token"};

// Settings a running routerd cannot change: its listeners, loops and frame
// size are set up, its discovery connected, its name bookkeeping sized.
// A reload reports them and keeps their values (CONTRACT section 10).
const std::set<std::string> restart_only{
    "listen", "threads", "max-connections", "idle-timeout-ms", "frame-timeout-ms", "max-frame-bytes",
    "drain-delay-ms", "drain-timeout-ms", "drain-quiet-ms", "log-format", "admin", "admin-max-connections",
    "discovery", "dns-refresh-ms", "dns-timeout-ms", "unknown-name-ttl-ms", "max-unknown-names",
    "auth-max-failures", "auth-failure-rate", "auth-failure-burst", "config"};

std::string read_token(const std::string& path) {
  std::ifstream in(path);
  std::string token((std::istreambuf_iterator<char>(in)), {});
  while (!token.empty() && (token.back() == '\n' || token.back() == '\r' || token.back() == ' ')) token.pop_back();
  return token;
}

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

std::optional<std::string> finish_routerd_flags(RouterdFlags& f, const CLI::App& cli) {
  if (!f.auth_token_file.empty()) f.proxy.auth_token = read_token(f.auth_token_file);
  const bool auth_on = !f.auth_token_file.empty() || cli.count("--auth-token") || !f.proxy.auth_token.empty();
  if (auto why = auth_on ? check_auth_token(f.proxy.auth_token) : std::nullopt) return why;
  f.router.max_frame_bytes = f.server.max_frame_bytes;
  f.router.threads = f.server.threads;
  try {
    core::RouterCore::validate(f.router);
  } catch (const std::invalid_argument& e) {
    return e.what();
  }
  return std::nullopt;
}

SettingsReload::SettingsReload(const CLI::App& cli, std::vector<std::string> command_line, std::string token)
    : command_line_(std::move(command_line)),
      order_(setting_names(cli)),
      in_force_(settings_values(cli)),
      token_(std::move(token)) {}

std::string SettingsReload::text() const {
  std::lock_guard lock(mutex_);
  return settings_text(order_, in_force_, secrets);
}

void SettingsReload::reload(proxy::RouterdService& service, core::RouterCore* core) {
  CLI::App cli{"routerd", "routerd"};
  RouterdFlags fresh;
  add_routerd_flags(cli, fresh);
  auto why = read_settings(cli, declare_with(&add_routerd_flags), "ROUTERD_", command_line_);
  if (!why) why = finish_routerd_flags(fresh, cli);
  if (!why && core) why = reconfigure_router(*core, fresh.router);
  if (why) {
    ++failures_;
    spdlog::error("reload (SIGHUP) failed, nothing changed: {}", *why);
    return;
  }
  std::vector<std::string> applied, kept;
  std::lock_guard lock(mutex_);
  for (const auto& [name, value] : settings_values(cli)) {
    std::string& current = in_force_[name];
    if (current == value) continue;
    auto reason = needs_restart(name, value, current, service);
    (reason ? kept : applied).push_back(reason && !reason->empty() ? name + " (" + *reason + ")" : name);
    if (!reason) current = value;
  }
  if (fresh.proxy.auth_token != token_) {
    service.set_auth_token(fresh.proxy.auth_token);
    if (std::find(applied.begin(), applied.end(), "auth-token-file") == applied.end()) applied.push_back("auth token");
    token_ = fresh.proxy.auth_token;
  }
  set_log_level(in_force_["log-level"]);
  service.set_rate_limits(fresh.proxy.rate_limit, fresh.proxy.rate_burst);
  ++reloads_;
  spdlog::info("reload (SIGHUP): applied {}; changed but kept until a restart: {}", joined(applied), joined(kept));
}

std::optional<std::string> SettingsReload::needs_restart(const std::string& name, const std::string& value,
                                                         const std::string& current,
                                                         proxy::RouterdService& service) {
  if (restart_only.contains(name)) return std::string();
  // A fixed size may change; switching between fixed and adaptive pools may not.
  if (name == "pool-size" && (value == "auto") != (current == "auto")) return std::string("fixed or auto");
  if (name == "access-log") return service.access_log().move_to(value);
  return std::nullopt;
}

std::optional<std::string> SettingsReload::reconfigure_router(core::RouterCore& core, const RouterOptions& wanted) {
  try {
    core.reconfigure(wanted);
    return std::nullopt;
  } catch (const std::invalid_argument& e) {
    return std::string(e.what());
  }
}

void SettingsReload::reopen_logs(proxy::RouterdService& service) {
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
