#include "settings_reload.h"

#include "app/logging.h"
#include "routing/router_core.h"

#include <spdlog/spdlog.h>

#include <fstream>

namespace routing::app {
namespace {

const std::vector<std::string> secrets{"auth-token"};

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

SettingsReload::SettingsReload(const CLI::App& cli, std::vector<std::string> command_line)
    : command_line_(std::move(command_line)), order_(setting_names(cli)), in_force_(settings_values(cli)) {}

std::string SettingsReload::text() const {
  std::lock_guard lock(mutex_);
  return settings_text(order_, in_force_, secrets);
}

void SettingsReload::reload(proxy::RouterdService& service) {
  CLI::App cli{"routerd", "routerd"};
  RouterdFlags fresh;
  add_routerd_flags(cli, fresh);
  auto why = read_settings(cli, declare_with(&add_routerd_flags), "ROUTERD_", command_line_);
  if (!why) why = finish_routerd_flags(fresh, cli);
  if (why) {
    ++failures_;
    spdlog::error("reload (SIGHUP) failed, nothing changed: {}", *why);
    return;
  }
  const auto next = settings_values(cli);
  std::vector<std::string> applied, kept;
  std::lock_guard lock(mutex_);
  for (const auto& [name, value] : next) {
    std::string& current = in_force_[name];
    if (current == value) continue;
    const bool live = name == "log-level" || name == "rate-limit" || name == "rate-burst";
    (live ? applied : kept).push_back(name);
    if (live) current = value;
  }
  set_log_level(in_force_["log-level"]);
  service.set_rate_limits(fresh.proxy.rate_limit, fresh.proxy.rate_burst);
  ++reloads_;
  spdlog::info("reload (SIGHUP): applied {}; changed but kept until a restart: {}", joined(applied), joined(kept));
}

}  // namespace routing::app
