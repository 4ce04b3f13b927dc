#pragma once
// Flags every program shares, and the one way they all report bad flags.
#include "rpc/server_options.h"

#include <CLI/CLI.hpp>

#include <functional>
#include <string>

namespace routing::app {

struct CommonOptions {
  std::string log_level = "info";
  std::string log_format = "text";  // or "json" (logging.h)
};

// --version, --log-level and --log-format.
void add_common_flags(CLI::App& app, CommonOptions& options);

// --threads, --max-connections, --idle-timeout-ms, --frame-timeout-ms, --max-frame-bytes,
// --drain-timeout-ms (and --listen, defaulting to `default_listen`).
void add_server_flags(CLI::App& app, rpc::ServerOptions& options, std::string default_listen);

// Parses argv. Returns -1 to go on, or the exit code to return now: 0 after
// --help/--version, 2 after a bad flag (reported on one stderr line).
int parse_flags(CLI::App& app, int argc, char** argv);
// The same for any way of parsing (`parse` calls app.parse).
int parse_reporting(CLI::App& app, const std::function<void()>& parse);

// CLI11 validator for a finite number (CLI::Range lets NaN through).
CLI::Validator finite_number();

// CLI11 validator for "host:port".
CLI::Validator host_port_validator();

}  // namespace routing::app

namespace routing::app {

// CLI11 validator for discovery URLs (rpc://, etcd://, static://).
CLI::Validator discovery_url_validator();

// CLI11 validator for a --zone (discovery::zone_error's rule).
CLI::Validator zone_validator();

}  // namespace routing::app
