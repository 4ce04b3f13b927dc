#include "app/settings_reload.h"

#include "app/logging.h"

#include <spdlog/spdlog.h>

namespace routing::app {
namespace {

std::string joined(const std::vector<std::string>& names) {
  std::string out;
  for (const auto& name : names) out += (out.empty() ? "" : ", ") + name;
  return out.empty() ? "none" : out;
}

}  // namespace

std::function<std::optional<std::string>(const std::string&, const std::string&, const std::string&)>
keep_all_but(std::set<std::string> changeable) {
  return [changeable = std::move(changeable)](const std::string& name, const std::string&,
                                              const std::string&) -> std::optional<std::string> {
    if (changeable.contains(name)) return std::nullopt;
    return std::string();
  };
}

SettingsReload::SettingsReload(const CLI::App& cli, Declare declare, std::string env_prefix,
                               std::vector<std::string> command_line, std::vector<std::string> secrets)
    : declare_(std::move(declare)),
      env_prefix_(std::move(env_prefix)),
      command_line_(std::move(command_line)),
      secrets_(std::move(secrets)),
      order_(setting_names(cli)),
      in_force_(settings_values(cli)) {}

std::string SettingsReload::text() const {
  std::lock_guard lock(mutex_);
  return settings_text(order_, in_force_, secrets_);
}

void SettingsReload::reload(CLI::App& fresh, const ReloadSteps& steps) {
  auto why = read_settings(fresh, declare_, env_prefix_, command_line_);
  if (!why && steps.check_and_apply) why = steps.check_and_apply();
  if (why) {
    ++failures_;
    spdlog::error("reload (SIGHUP) failed, nothing changed: {}", *why);
    return;
  }
  std::vector<std::string> applied, kept;
  std::unique_lock lock(mutex_);
  for (const auto& [name, value] : settings_values(fresh)) {
    std::string& current = in_force_[name];
    if (current == value) continue;
    std::optional<std::string> reason;
    if (name != "log-level") reason = steps.keep ? steps.keep(name, value, current) : std::string();
    (reason ? kept : applied).push_back(reason && !reason->empty() ? name + " (" + *reason + ")" : name);
    if (!reason) current = value;
  }
  const std::string log_level = in_force_["log-level"];
  lock.unlock();
  if (steps.finish) {
    for (auto& name : steps.finish(applied)) applied.push_back(std::move(name));
  }
  ++reloads_;
  // The summary shows under whichever level, old or new, is more verbose:
  // turned up, the new level first; turned down, after the line.
  const bool more_verbose = spdlog::level::from_str(log_level) < spdlog::default_logger()->level();
  if (more_verbose) set_log_level(log_level);
  spdlog::info("reload (SIGHUP): applied {}; changed but kept until a restart: {}", joined(applied), joined(kept));
  if (!more_verbose) set_log_level(log_level);
}

}  // namespace routing::app
