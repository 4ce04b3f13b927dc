#pragma once
// The one way every server reads its settings (CONTRACT section 10):
// command line > environment > config file > default. The config file is
// TOML `name = value` lines (a setting is named as its flag, without the
// dashes); the environment variable of --pool-size is PREFIX_POOL_SIZE.
//
// Strict: a key that is no setting, a value a flag would refuse, or a line
// that is not `name = value` is an error naming the file and line, and
// nothing starts. Each file line and each variable is checked on its own
// against a fresh set of the program's flags (`Declare`), so the error
// says where the bad value came from; then file, environment and command
// line are parsed together in that order, the last value of a setting
// winning (hence the precedence).
#include <CLI/CLI.hpp>

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace routing::app {

// A `name = value` line of a config file; `value` as its flag would take it
// (quotes and escapes of TOML strings undone).
struct ConfigEntry {
  std::string name;
  std::string value;
  int line = 0;
};

// Parses a config file's text; the entries, or "PATH:LINE: why".
struct ParsedConfig {
  std::vector<ConfigEntry> entries;
  std::optional<std::string> error;
};
ParsedConfig parse_config_text(std::string_view text, const std::string& path);

// A fresh CLI::App with the program's flags, holding its own storage: used
// to check one value without touching the real settings.
struct DeclaredFlags {
  std::unique_ptr<CLI::App> app;
  std::shared_ptr<void> storage;
};
using Declare = std::function<DeclaredFlags()>;

template <class Flags>
Declare declare_with(void (*add)(CLI::App&, Flags&)) {
  return [add] {
    auto flags = std::make_shared<Flags>();
    auto app = std::make_unique<CLI::App>();
    add(*app, *flags);
    return DeclaredFlags{std::move(app), flags};
  };
}

// Adds --config FILE and --check-config to `app` (call it while declaring
// the flags).
void add_settings_flags(CLI::App& app);

// Reads file, environment (variables `env_prefix` + NAME, e.g. "ROUTERD_")
// and command line into `app` (declared by the same flags as `declare`
// makes). Returns -1 to go on, 0 after --help or --version, 2 after an
// error (one line on stderr, "program: why").
int parse_settings(CLI::App& app, const Declare& declare, const std::string& env_prefix, int argc, char** argv);

// As parse_settings, again (a reload): `command_line` without the program
// name. The error line, or nullopt when `app` now holds the settings.
std::optional<std::string> read_settings(CLI::App& app, const Declare& declare, const std::string& env_prefix,
                                         const std::vector<std::string>& command_line);

// Each setting's value in force (as its flag takes it; "" when not set).
std::map<std::string, std::string> settings_values(const CLI::App& app);

// True when --check-config was given: validate, print "ok", start nothing.
bool checking_config(const CLI::App& app);

// The settings in force as TOML (`name = value`, every setting, defaults
// included), a file --config takes: settings without a value, and the
// `secret` ones (masked), are comment lines.
std::string settings_text(const CLI::App& app, const std::vector<std::string>& secret);
// The same from `values`, in the order of `names`.
std::string settings_text(const std::vector<std::string>& names, const std::map<std::string, std::string>& values,
                          const std::vector<std::string>& secret);
// The settings' names (no meta options: help, version, config, check-config), in --help order.
std::vector<std::string> setting_names(const CLI::App& app);

}  // namespace routing::app
