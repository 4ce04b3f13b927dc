#include <cerrno>
#include <cstdio>
#include <cstring>
#include "app/common_flags.h"

#include "app/tls_flags.h"
#include "rpc/host_port.h"

#include <cmath>
#include <cstdlib>
#include <iostream>

namespace routing::app {

void add_common_flags(CLI::App& app, CommonOptions& options) {
  // A setting given twice takes its last value: how the config file, the
  // environment and the command line override each other (settings.h).
  app.option_defaults()->multi_option_policy(CLI::MultiOptionPolicy::TakeLast);
  app.set_version_flag("--version", std::string(app.get_name()) + " " + ROUTING_VERSION);
  app.add_option("--log-level", options.log_level, "trace, debug, info, warn, error or off")
      ->check(CLI::IsMember({"trace", "debug", "info", "warn", "error", "critical", "off"}))
      ->capture_default_str();
  app.add_option("--log-format", options.log_format, "text, or json: one JSON object per line (ts, level, program, msg)")
      ->check(CLI::IsMember({"text", "json"}))
      ->capture_default_str();
}

CLI::Validator finite_number() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        char* end = nullptr;
        double value = std::strtod(text.c_str(), &end);
        return std::isfinite(value) ? "" : "expected a finite number, got '" + text + "'";
      },
      "NUMBER");
}

CLI::Validator host_port_validator() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        return rpc::parse_host_port(text) ? "" : "expected HOST:PORT, got '" + text + "'";
      },
      "HOST:PORT");
}

void add_server_flags(CLI::App& app, rpc::ServerOptions& options, std::string default_listen) {
  options.listen = std::move(default_listen);
  app.add_option("--listen", options.listen, "address to listen on (port 0 picks a free one)")
      ->check(host_port_validator())
      ->capture_default_str();
  app.add_option("--threads", options.threads, "worker event loops (0 = one per core)")
      ->check(CLI::Range(0u, 256u))
      ->capture_default_str();
  app.add_option("--max-connections", options.max_connections,
                 "client connections at once; at the limit a newcomer replaces the one quiet longest (>= 1 s), "
                 "else gets status 8")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))
      ->capture_default_str();
  app.add_option_function<long>(
         "--idle-timeout-ms",
         [&options](long ms) { options.idle_timeout = std::chrono::milliseconds(ms); },
         "close connections idle this long (0 = never)")
      ->check(CLI::Range(0L, 86'400'000L))
      ->default_str(std::to_string(options.idle_timeout.count()));
  app.add_option_function<long>(
         "--frame-timeout-ms",
         [&options](long ms) { options.frame_timeout = std::chrono::milliseconds(ms); },
         "a frame begun must end within this, else '4:frame not completed...' and a close (0 = never)")
      ->check(CLI::Range(0L, 86'400'000L))
      ->default_str(std::to_string(options.frame_timeout.count()));
  app.add_option("--max-frame-bytes", options.max_frame_bytes,
                 "longest frame line accepted; longer gets '3:frame too long' and a close")
      ->check(CLI::Range(std::size_t{16}, std::size_t{1} << 30))
      ->capture_default_str();
  app.add_option("--trace-log", options.trace_log,
                 "append a JSON line per span of each tagged call that carries a W3C traceparent to this file")
      ->check(CLI::Validator(
          [](const std::string& path) -> std::string {
            if (FILE* file = std::fopen(path.c_str(), "a")) {
              std::fclose(file);
              return "";
            }
            return "cannot open '" + path + "' for appending: " + std::strerror(errno);
          },
          "FILE"));
  app.add_option("--max-calls-per-connection", options.max_calls_per_connection,
                 "tagged calls one connection may have in flight; past it '8#<id>:...'")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))
      ->capture_default_str();
  app.add_option_function<long>(
         "--drain-delay-ms",
         [&options](long ms) { options.drain_delay = std::chrono::milliseconds(ms); },
         "on SIGTERM, keep accepting and serving this long while /readyz says 503, then drain")
      ->check(CLI::Range(0L, 3'600'000L))
      ->default_str(std::to_string(options.drain_delay.count()));
  app.add_option_function<long>(
         "--drain-timeout-ms",
         [&options](long ms) { options.drain_timeout = std::chrono::milliseconds(ms); },
         "on SIGTERM/SIGINT, how long calls in flight may take to finish")
      ->check(CLI::Range(0L, 3'600'000L))
      ->default_str(std::to_string(options.drain_timeout.count()));
  app.add_option_function<long>(
         "--drain-quiet-ms",
         [&options](long ms) { options.drain_quiet = std::chrono::milliseconds(ms); },
         "while draining, close a connection once it has been quiet this long (lame duck)")
      ->check(CLI::Range(0L, 3'600'000L))
      ->default_str(std::to_string(options.drain_quiet.count()));
  add_server_tls_flags(app, options.tls);
}

int parse_flags(CLI::App& app, int argc, char** argv) {
  return parse_reporting(app, [&] { app.parse(argc, argv); });
}

int parse_reporting(CLI::App& app, const std::function<void()>& parse) {
  try {
    parse();
    return -1;
  } catch (const CLI::CallForVersion& e) {
    std::cout << e.what() << "\n";
    return 0;
  } catch (const CLI::Success& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << app.get_name() << ": " << e.what() << " (see --help)\n";
    return 2;
  }
}

}  // namespace routing::app

#include "discovery/discovery_url.h"
#include "discovery/address_set.h"

namespace routing::app {

CLI::Validator discovery_url_validator() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        try {
          discovery::parse_discovery_url(text);
          return "";
        } catch (const std::invalid_argument& e) {
          return e.what();
        }
      },
      "URL");
}

CLI::Validator zone_validator() {
  return CLI::Validator(
      [](const std::string& text) -> std::string { return discovery::zone_error(text).value_or(""); }, "ZONE");
}

}  // namespace routing::app
