#pragma once
// routerd's part of SIGHUP's reload (app/settings_reload.h; CONTRACT section
// 10; docs/operations.md, "Reload"): the router's settings, rate limits, the
// auth token and the access log change while running; SIGUSR1 reopens the
// access log.
#include "app/routerd_flags.h"
#include "app/settings_reload.h"
#include "proxy/routerd_service.h"

#include <optional>
#include <string>
#include <vector>

namespace routing::core {
class RouterCore;
}

namespace routing::app {

// What parse_settings cannot check alone: reads the token file, checks the
// token and the router's limits. The error line, or nullopt.
std::optional<std::string> finish_routerd_flags(RouterdFlags& flags, const CLI::App& cli);

class RouterdReload {
 public:
  // `cli`: the settings routerd started with; `command_line`: its
  // arguments; `token`: the auth token in force (from a file, perhaps).
  RouterdReload(const CLI::App& cli, std::vector<std::string> command_line, std::string token);

  // SIGHUP: applies what may change while running: the router's settings
  // (RouterCore::reconfigure; `core` is null before it runs), rate limits,
  // the auth token, the log level, the access log's file. What cannot
  // change while running (restart_only, in the .cpp) keeps its value and is
  // logged as needing a restart.
  // `server`: its listener's TLS files are read again (new handshakes use
  // them); the router's backend TLS files too (RouterCore::reconfigure).
  void reload(proxy::RouterdService& service, rpc::Server& server, admin::AdminServer& admin, core::RouterCore* core);
  // SIGUSR1 (rotation): reopens the access log by its name, and the
  // router's trace log when `core` is running.
  void reopen_logs(proxy::RouterdService& service, core::RouterCore* core);

  const SettingsReload& settings() const { return settings_; }

 private:
  SettingsReload settings_;
  std::string token_;  // in force; touched only by reload() (the signal thread)
};

}  // namespace routing::app
