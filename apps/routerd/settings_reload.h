#pragma once
// routerd's settings once it runs: the text GET /config shows, and SIGHUP's
// reload (CONTRACT section 10; docs/operations.md, "Reload").
#include "app/routerd_flags.h"
#include "app/settings.h"
#include "proxy/routerd_service.h"

#include <atomic>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace routing::app {

// What parse_settings cannot check alone: reads the token file, checks the
// token and the router's limits. The error line, or nullopt.
std::optional<std::string> finish_routerd_flags(RouterdFlags& flags, const CLI::App& cli);

class SettingsReload {
 public:
  // `cli`: the settings routerd started with; `command_line`: its
  // arguments; `token`: the auth token in force (from a file, perhaps).
  SettingsReload(const CLI::App& cli, std::vector<std::string> command_line, std::string token);

  // Reads file, environment and command line again, as at start (the token
  // file too). Applies what may change while running: the router's settings
  // (RouterCore::reconfigure; `core` is null before it runs), rate limits,
  // the auth token, the log level, the access log's file. A setting that
  // cannot change while running (restart_only, in the .cpp) keeps its value
  // and is logged as needing a restart. A setting that does not pass
  // changes nothing: logged, counted.
  void reload(proxy::RouterdService& service, core::RouterCore* core);
  // SIGUSR1: reopens the access log by its name (rotation).
  void reopen_logs(proxy::RouterdService& service);

  std::string text() const;  // the settings in force, as GET /config shows them
  std::uint64_t reloads() const { return reloads_; }
  std::uint64_t failures() const { return failures_; }

 private:
  // Why a changed setting keeps its value ("" when it simply cannot
  // change while running), or nullopt when it was applied.
  static std::optional<std::string> needs_restart(const std::string& name, const std::string& value,
                                                  const std::string& current, proxy::RouterdService& service);
  static std::optional<std::string> reconfigure_router(core::RouterCore& core, const RouterOptions& wanted);

  std::vector<std::string> command_line_;
  std::vector<std::string> order_;  // setting names in --help order, for text()
  mutable std::mutex mutex_;
  std::map<std::string, std::string> in_force_;  // under mutex_
  std::string token_;                            // under mutex_
  std::atomic<std::uint64_t> reloads_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace routing::app
