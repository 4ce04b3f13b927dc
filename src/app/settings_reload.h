#pragma once
// SIGHUP's reload, one rule for every server (CONTRACT section 10;
// docs/operations.md, "Reload"): file, environment and command line are read
// again as at start. A setting that does not pass changes nothing (logged,
// counted). Of the settings that changed, each is applied or kept until a
// restart, and one log line says which (shown if the old or the new log
// level shows info lines); the log level always applies.
#include "app/settings.h"

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace routing::app {

// What one program does in a reload, after its settings were read again
// into the flags its `fresh` CLI::App was declared with.
struct ReloadSteps {
  // Checks the new settings as a whole and applies what must change
  // together (the router's settings, discoveryd's limits): the error, or
  // nullopt. An error changes nothing at all.
  std::function<std::optional<std::string>()> check_and_apply;
  // For each other changed setting: nullopt when it applied; else why it
  // keeps its value until a restart ("" when it just cannot change while
  // running). Unset: only the log level changes.
  std::function<std::optional<std::string>(const std::string& name, const std::string& value,
                                           const std::string& current)>
      keep;
  // Last, given the settings applied: what else changed that they do not
  // name (routerd: "auth token", read again from the same file).
  std::function<std::vector<std::string>(const std::vector<std::string>& applied)> finish;
};

// A `keep` for a program whose settings in `changeable` apply as they are
// read (by check_and_apply) and whose other settings need a restart.
std::function<std::optional<std::string>(const std::string&, const std::string&, const std::string&)>
keep_all_but(std::set<std::string> changeable);

class SettingsReload {
 public:
  // `cli`: the settings the program started with, read by parse_settings
  // with `declare` and `env_prefix`; `command_line`: its arguments without
  // the program's name; `secrets`: settings text() masks.
  SettingsReload(const CLI::App& cli, Declare declare, std::string env_prefix, std::vector<std::string> command_line,
                 std::vector<std::string> secrets = {});

  // One SIGHUP (one at a time: the signal thread). `fresh`: a new CLI::App
  // declared with the program's flags, which `steps` then read.
  void reload(CLI::App& fresh, const ReloadSteps& steps);

  std::string text() const;  // the settings in force, as GET /config shows them
  std::uint64_t reloads() const { return reloads_; }    // that passed
  std::uint64_t failures() const { return failures_; }  // refused: nothing changed

 private:
  const Declare declare_;
  const std::string env_prefix_;
  const std::vector<std::string> command_line_;
  const std::vector<std::string> secrets_;
  const std::vector<std::string> order_;  // setting names in --help order, for text()
  mutable std::mutex mutex_;
  std::map<std::string, std::string> in_force_;  // under mutex_
  std::atomic<std::uint64_t> reloads_{0};
  std::atomic<std::uint64_t> failures_{0};
};

}  // namespace routing::app
