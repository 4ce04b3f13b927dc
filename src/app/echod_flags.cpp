#include "app/echod_flags.h"

#include "app/settings.h"
#include "app/tls_flags.h"
#include "discovery/address_set.h"

namespace routing::app {

void add_echod_flags(CLI::App& app, EchodFlags& f) {
  add_common_flags(app, f.common);
  add_server_flags(app, f.server, "127.0.0.1:7001");
  add_settings_flags(app);
  app.add_option("--name", f.name, "system name this instance serves (registered with discovery)")
      ->capture_default_str();
  app.add_option("--discovery", f.discovery_url,
                 "register with this discovery and keep the lease alive: rpc[s]://HOST:PORT, "
                 "etcd[s]://HOST:PORT[,HOST:PORT...] or static://NAME=ADDR,...")
      ->check(discovery_url_validator());
  // To discovery (rpcs://, etcds://); --tls-cert is the listener's.
  add_client_tls_flags(app, f.discovery_tls, "--upstream-tls");
  app.add_option("--advertise", f.advertise,
                 "address to register and answer WHOAMI with (default: the listening address)")
      ->check(host_port_validator());
  app.add_option("--ttl-ms", f.ttl_ms, "lease time of the registration")
      ->check(CLI::Range(1L, 604'800'000L))
      ->capture_default_str();
  app.add_option("--zone", f.zone, "zone to register this instance in (routers prefer their own zone's backends)")
      ->check(zone_validator());
  app.add_option("--weight", f.weight, "share of the name's load, relative to other instances' weights")
      ->check(CLI::Range(1L, static_cast<long>(discovery::Placement::max_weight)))
      ->capture_default_str();
  app.add_option("--speed", f.speed.speed, "SLOW_ECHO waits its milliseconds divided by this (2: twice as fast)")
      ->check(finite_number())->check(CLI::Range(0.001, 1000.0))
      ->capture_default_str();
  app.add_option("--speed-change-after-s", f.change_after_s,
                 "after this many seconds, serve at --later-speed (a backend that slows down mid-run)")
      ->check(finite_number())->check(CLI::Range(0.0, 86400.0));
  app.add_option("--later-speed", f.speed.later_speed, "the speed after --speed-change-after-s")
      ->check(finite_number())->check(CLI::Range(0.001, 1000.0))
      ->capture_default_str();
  app.add_option_function<long>(
         "--answer-delay-us", [&f](long us) { f.speed.answer_delay = std::chrono::microseconds(us); },
         "every ECHO and WHOAMI answer waits this long first: a test bed's stand-in for the network distance "
         "to another zone (scripts/bench_zones.sh)")
      ->check(CLI::Range(0L, 10'000'000L))
      ->default_str("0");
  app.add_option("--capacity", f.speed.capacity,
                 "at most this many calls worked on at once (a SLOW_ECHO holds its slot while it waits); the rest "
                 "wait in arrival order, as in a real server with finite capacity (0: unlimited)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{1'000'000}))
      ->capture_default_str();
  app.add_flag("--line-protocol-only", f.line_protocol_only,
               "speak version 1 only: answer tagged frames '3:malformed frame' (to test clients' fallback)");
}

}  // namespace routing::app
