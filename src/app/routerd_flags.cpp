#include "app/routerd_flags.h"
#include "app/policy_flags.h"
#include "app/tls_flags.h"

#include "app/settings.h"
#include "discovery/protocol.h"

#include <charconv>

namespace routing::app {
namespace {

using std::chrono::milliseconds;

// A flag in milliseconds stored as a std::chrono::milliseconds field.
void add_millis(CLI::App& app, const std::string& name, milliseconds& field, const std::string& help, long min) {
  app.add_option_function<long>(name, [&field](long ms) { field = milliseconds(ms); }, help)
      ->check(CLI::Range(min, 86'400'000L))
      ->default_str(std::to_string(field.count()));
}

constexpr std::size_t max_pool_size = 100'000;

// "auto", or a pool size in 1..max_pool_size; the reason when it is neither.
std::string check_pool_size(const std::string& value) {
  if (value == "auto") return {};
  std::size_t size = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
  if (ec != std::errc{} || end != value.data() + value.size() || size < 1 || size > max_pool_size) {
    return "--pool-size must be 'auto' or a number in 1.." + std::to_string(max_pool_size) + ", not '" + value + "'";
  }
  return {};
}

CLI::Validator pool_size_validator() { return CLI::Validator(check_pool_size, "auto|1.." + std::to_string(max_pool_size)); }

void set_pool_size(RouterOptions& router, const std::string& value) {
  if (value == "auto") {
    router.adaptive_pool = true;
    return;
  }
  router.adaptive_pool = false;
  std::from_chars(value.data(), value.data() + value.size(), router.pool_size);
}

}  // namespace

void add_routerd_flags(CLI::App& app, RouterdFlags& f) {
  add_common_flags(app, f.common);
  add_server_flags(app, f.server, "127.0.0.1:10300");
  add_client_tls_flags(app, f.router.tls, "--upstream-tls");  // to backends and to rpcs:// or etcds:// discovery
  add_settings_flags(app);
  app.add_option("--admin", f.admin, "admin HTTP address: /metrics, /healthz, /status")
      ->check(host_port_validator())->capture_default_str();
  add_server_tls_flags(app, f.admin_tls, "--admin-tls");
  app.add_option("--admin-max-connections", f.admin_limits.max_connections,
                 "admin HTTP connections open at once; at the limit a newcomer replaces the one waiting longest "
                 "(>= 1 s) for a request, else gets 503 and is closed")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))->capture_default_str();
  app.add_option("--discovery", f.router.discovery,
                 "rpc://HOST:PORT, etcd://HOST:PORT[,...], book://HOST:PORT or static://...; rpcs:// and etcds:// over TLS (--tls-ca)")
      ->check(discovery_url_validator())->capture_default_str();
  app.add_option("--book-systems", f.router.book_systems,
                 "systems whose backends are the book's services: spoken to in the book's transport (comma list)")
      ->delimiter(',');
  app.add_option("--strategy", f.router.strategy, "round-robin, random, least-connections, pick-2 or peak-ewma")
      ->check(CLI::IsMember({"round-robin", "random", "least-connections", "pick-2", "peak-ewma"}))
      ->capture_default_str();
  auto* register_as =
      app.add_option("--register-as", f.register_as,
                     "register this routerd's address under this name in --discovery (in its --zone) and keep "
                     "the lease alive, so that clients find it (ProxyClient, routectl --proxy-discovery); "
                     "withdrawn when it stops");
  register_as->check(CLI::Validator(
      [](const std::string& name) -> std::string {
        if (name.empty()) return "a name must not be empty";
        return name.size() > discovery::max_name_bytes ? "a name is at most " + std::to_string(discovery::max_name_bytes) + " bytes" : "";
      },
      "NAME"));
  app.add_option("--advertise", f.advertise,
                 "with --register-as: the address registered (default: the --listen address as bound)")
      ->check(host_port_validator())
      ->needs(register_as);
  app.add_option("--register-ttl-ms", f.register_ttl_ms, "with --register-as: the lease, refreshed at a third of it")
      ->check(CLI::Range(1000L, 604'800'000L))
      ->capture_default_str();
  app.add_option("--zone", f.router.zone,
                 "the zone this routerd runs in: calls stay with backends registered in it while it has the "
                 "capacity, and spill over to other zones in proportion when it has not (docs/zones.md); "
                 "empty: every backend is near")
      ->check(zone_validator());
  app.add_option_function<std::string>("--pool-size", [&f](const std::string& value) { set_pool_size(f.router, value); },
                                        "per system: calls in flight at once, and connections open (in use + idle); "
                                        "'auto': sized by Little's Law from arrival rate and latency (docs/adaptive.md)")
      ->check(pool_size_validator())
      ->default_str(std::to_string(f.router.pool_size));
  app.add_option("--max-pool-size", f.router.adaptive_max_pool, "with --pool-size auto: the most a system's limit grows to")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))->capture_default_str();
  add_millis(app, "--peak-ewma-decay-ms", f.router.peak_ewma_decay,
             "peak-ewma: time constant of each backend's latency estimate", 1);
  add_millis(app, "--slow-start-ms", f.router.slow_start,
             "a backend that joins or comes back ramps from 10% to its full share of calls over this long (0: off)", 0);
  app.add_option("--max-pending", f.router.max_pending, "per system: calls that may wait for a slot; more get 8")
      ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}))->capture_default_str();
  add_millis(app, "--request-timeout-ms", f.router.request_timeout, "default deadline of a call", 1);
  add_millis(app, "--max-request-timeout-ms", f.router.max_request_timeout,
             "longest deadline a client may ask for (\"timeout_ms\"); longer ones are cut to it", 1);
  add_millis(app, "--connect-timeout-ms", f.router.connect_timeout, "one connection attempt to a backend", 1);
  add_millis(app, "--backend-idle-timeout-ms", f.router.idle_timeout, "close pooled backend connections idle this long", 1);
  add_millis(app, "--dns-refresh-ms", f.router.dns_refresh,
             "look backends' host names up again this often, off the event loop (0: once)", 0);
  add_millis(app, "--dns-timeout-ms", f.router.dns_timeout, "one host-name lookup gives up after this", 1);
  app.add_option("--health-check", f.router.health_check,
                 "procedure: ping each backend (procedure 0); tcp: only connect (backends not built on this "
                 "project's RPC library; give them --verify-answers false too); off")
      ->check(CLI::IsMember({"procedure", "tcp", "off"}))
      ->capture_default_str();
  add_millis(app, "--health-check-interval-ms", f.router.health_check_interval, "ping each backend this often (0: never)", 0);
  app.add_option("--max-health-checks-per-second", f.router.max_health_checks_per_second,
                 "pings of every system together at most this often; past that many backends nobody calls, each "
                 "is checked less often than the interval")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))->capture_default_str();
  app.add_option("--verify-answers", f.router.verify_answers,
                 "send a ping behind each request and accept an answer only when its pong follows (true/false)")
      ->capture_default_str();
  app.add_option("--tagged-backends", f.router.tagged_frames,
                 "ask each new backend connection whether it speaks tagged frames and, if so, share it among "
                 "calls (true/false)")
      ->capture_default_str();
  app.add_option("--calls-per-connection", f.router.calls_per_connection,
                 "calls a tagged backend connection carries before another is opened (within --pool-size)")
      ->check(CLI::Range(std::size_t{1}, std::size_t{100'000}))->capture_default_str();
  app.add_option("--max-systems", f.router.max_systems, "systems known at once; a call naming one more new system gets 8")
      ->check(CLI::Range(std::size_t{1}, std::size_t{10'000'000}))->capture_default_str();
  add_millis(app, "--unknown-name-ttl-ms", f.router.unknown_name_ttl,
             "a name discovery did not know gets 5 at once for this long before it is asked again (0: always ask)", 0);
  app.add_option("--max-unknown-names", f.router.max_unknown_names, "names remembered as unknown at most (oldest forgotten first)")
      ->check(CLI::Range(std::size_t{0}, std::size_t{10'000'000}))->capture_default_str();
  add_millis(app, "--empty-discovery-grace-ms", f.router.empty_discovery_grace,
             "keep a system's last backends this long when discovery suddenly lists none (0: believe it at once)", 0);
  app.add_option("--eject-after", f.router.eject_after, "failed calls in a row that eject a backend")
      ->check(CLI::Range(1u, 1'000'000u))->capture_default_str();
  app.add_option("--max-ejected-percent", f.router.max_ejected_percent, "share of a system's backends that may be ejected")
      ->check(CLI::Range(0u, 100u))->capture_default_str();
  app.add_option("--rate-limit", f.proxy.rate_limit, "calls per second per system (0: unlimited); over it, status 8")
      ->check(finite_number())->check(CLI::Range(0.0, 1e9))->capture_default_str();
  app.add_option("--rate-burst", f.proxy.rate_burst, "calls a system may burst above the rate (0: the rate)")
      ->check(finite_number())->check(CLI::Range(0.0, 1e9))->capture_default_str();
  app.add_option("--auth-token", f.proxy.auth_token,
                 "require clients to authenticate (procedure 4) with this token; prefer --auth-token-file");
  app.add_option("--auth-token-file", f.auth_token_file, "read the token from this file")->check(CLI::ExistingFile);
  add_policy_flag(app, f.policy_file);
  auto& throttle = f.proxy.auth_throttle;
  app.add_option("--auth-max-failures", throttle.max_failures_per_connection,
                 "failed authentications after which a connection is closed")
      ->check(CLI::Range(1u, 1'000'000u))->capture_default_str();
  app.add_option("--auth-failure-rate", throttle.failures_per_second,
                 "failed authentications per second one source address may make on average; past its burst, "
                 "its AUTHENTICATE calls get 8 unchecked (0: no per-address limit)")
      ->check(finite_number())->check(CLI::Range(0.0, 1e6))->capture_default_str();
  app.add_option("--auth-failure-burst", throttle.failure_burst,
                 "failed authentications one source address may make at once")
      ->check(finite_number())->check(CLI::Range(1.0, 1e6))->capture_default_str();
  app.add_option("--access-log", f.proxy.access_log, "one JSON line per call to this file ('-': stderr)");
}

std::optional<std::string> check_auth_token(const std::string& token) {
  if (token.size() >= proxy::min_auth_token_bytes) return std::nullopt;
  return "the auth token is " + std::to_string(token.size()) + " bytes; at least " +
         std::to_string(proxy::min_auth_token_bytes) + " are required (e.g. from 'openssl rand -hex 16')";
}

}  // namespace routing::app
