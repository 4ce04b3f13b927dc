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
  // `cli`: the settings routerd started with; `command_line`: its arguments.
  SettingsReload(const CLI::App& cli, std::vector<std::string> command_line);

  // Reads file, environment and command line again, as at start. Applies
  // what may change while running (log-level, rate-limit, rate-burst); any
  // other setting that changed keeps its value and is logged as needing a
  // restart. A setting that does not pass changes nothing: logged, counted.
  void reload(proxy::RouterdService& service);

  std::string text() const;  // the settings in force, as GET /config shows them
  std::uint64_t reloads() const { return reloads_; }
  std::uint64_t failures() const { return failures_; }

 private:
  std::vector<std::string> command_line_;
  std::vector<std::string> order_;  // setting names in --help order, for text()
  mutable std::mutex mutex_;
  std::map<std::string, std::string> in_force_;  // under mutex_
  std::atomic<std::uint64_t> reloads_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace routing::app
