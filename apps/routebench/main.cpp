// routebench: a load generator for the line protocol, closed or open loop,
// against an address directly (echod, or HAProxy in front of it), through
// routerd (ROUTE frames), or through the embedded library (routing::Router).
// Closed loop: library mode sizes the router's pool to the connections unless
// --pool-size says otherwise ('default': what a user of RouterOptions{} gets).
// Open loop (--rate R): Poisson arrivals, asynchronous calls (open_loop.h);
// library mode then runs RouterOptions{} as a user gets it, but for --pool-size.
// `routebench churn ...` instead registers a system's backends with discovery
// and changes the set N times a second (churn.h).
#include <routing/router.h>

#include "app/common_flags.h"
#include "common/log.h"
#include "proxy/route_args.h"
#include "rpc/address.h"
#include "rpc/codec.h"
#include "app/tls_flags.h"
#include "bench_stream.h"
#include "churn.h"
#include "open_loop.h"
#include "routing/backend_tls.h"
#include "tagged_load.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cstdio>
#include <map>
#include <mutex>
#include <thread>

namespace {

using namespace routing;
using Clock = std::chrono::steady_clock;

struct Settings {
  std::string direct, proxy, discovery;
  std::string system = "echo";
  // More than 1: calls go to systems <system>0 .. <system>N-1 in turn (each
  // caller from its own place), to measure what many systems cost.
  std::size_t systems = 1;
  std::uint32_t procedure = 1;
  std::size_t payload_bytes = 16;
  std::optional<std::string> payload;  // given as is (e.g. SLOW_ECHO's "<ms>:<text>"), else payload_bytes of 'x' 
  int connections = 16;
  double duration_s = 5, warmup_s = 1;
  double rate = 0;  // calls/s in total; 0: closed loop; > 0: open loop (open_loop.h)
  std::uint64_t seed = 1;  // open loop: the arrivals' random sequence
  bool idempotent = false;
  bool json = false;
  long timeout_ms = 5000;
  // Library mode: the router's pool size; unset, as many as the connections
  // (the pool never limits the callers; numbers before --pool-size compare).
  std::optional<std::size_t> pool_size;
  bool adaptive_pool = false;  // library mode, --pool-size auto
  std::string strategy = "round-robin";  // library mode
  // Tagged frames: calls each connection keeps in flight (0: the line
  // protocol, one call at a time).
  unsigned in_flight = 0;
  TlsClientOptions tls;  // --tls-ca ...: TLS to the server (direct, proxy) or the backends (library)
  std::shared_ptr<const rpc::tls::Context> tls_context;
};

// One caller's way of making a call: true if it got status 0.
using Caller = std::function<bool(std::string* who)>;

// A blocking line-protocol connection (plain or TLS): the cheapest client there is.
class LineSocket {
 public:
  LineSocket(const std::string& address, const std::shared_ptr<const rpc::tls::Context>& tls)
      : stream_(address, tls) {}
  // Sends one frame and reads one answer line; false on a transport error.
  bool exchange(const std::string& frame, std::string& line) {
    if (!stream_.send_all(frame)) return false;
    for (;;) {
      if (auto newline = buffer_.find('\n'); newline != std::string::npos) {
        line.assign(buffer_, 0, newline);
        buffer_.erase(0, newline + 1);
        return true;
      }
      char chunk[65536];
      long n = stream_.receive(chunk, sizeof chunk);
      if (n <= 0) return false;
      buffer_.append(chunk, static_cast<std::size_t>(n));
    }
  }

 private:
  bench::BenchStream stream_;
  std::string buffer_;
};

std::vector<std::string> system_names(const Settings& s) {
  if (s.systems <= 1) return {s.system};
  std::vector<std::string> names;
  for (std::size_t i = 0; i < s.systems; ++i) names.push_back(s.system + std::to_string(i));
  return names;
}

std::function<Caller()> caller_factory(const Settings& s, Router* router) {
  std::string payload = s.payload ? *s.payload : std::string(s.payload_bytes, 'x');
  if (!s.direct.empty()) {
    std::string frame = rpc::encode_frame(s.procedure, payload);
    return [frame, address = s.direct, tls = s.tls_context] {
      auto socket = std::make_shared<LineSocket>(address, tls);
      return [socket, frame, line = std::string()](std::string* who) mutable {
        if (!socket->exchange(frame, line)) return false;
        if (who) *who = line.substr(line.find(':') + 1);
        return line.rfind("0:", 0) == 0;
      };
    };
  }
  CallOptions options{.timeout = std::chrono::milliseconds(s.timeout_ms), .idempotent = s.idempotent};
  if (!s.proxy.empty()) {
    auto frames = std::make_shared<std::vector<std::string>>();
    for (const auto& system : system_names(s)) {
      frames->push_back(rpc::encode_frame(proxy::route_procedure, proxy::route_args_json(system, s.procedure, payload, options)));
    }
    auto next_caller = std::make_shared<std::atomic<std::size_t>>(0);
    return [frames, next_caller, address = s.proxy, tls = s.tls_context] {
      auto socket = std::make_shared<LineSocket>(address, tls);
      // Callers start spread over the systems (a prime stride apart).
      std::size_t turn = next_caller->fetch_add(1) * 7919;
      return [socket, frames, turn, line = std::string()](std::string* who) mutable {
        const std::string& frame = (*frames)[turn++ % frames->size()];
        if (!socket->exchange(frame, line)) return false;
        bool ok = line.rfind("0:", 0) == 0;
        if (who) *who = ok ? proxy::unwrap_answer(Reply{Status::ok, rpc::unescape(line.substr(2))}).payload : "";
        return ok;
      };
    };
  }
  auto systems = std::make_shared<const std::vector<std::string>>(system_names(s));
  auto next_caller = std::make_shared<std::atomic<std::size_t>>(0);
  return [router, payload, options, systems, next_caller, procedure = s.procedure] {
    return [=, turn = next_caller->fetch_add(1) * 7919](std::string* who) mutable {
      Reply reply = router->call((*systems)[turn++ % systems->size()], procedure, payload, options);
      if (who) *who = reply.payload;
      return reply.ok();
    };
  };
}

struct Totals {
  std::mutex mutex;
  std::vector<double> latencies_us;
  std::uint64_t ok = 0, failed = 0;
  std::map<std::string, std::uint64_t> by_backend;
};

// Runs one caller until `end`; counts only what starts after `measure_from`.
void run_caller(Caller call, const Settings& s, Clock::time_point measure_from, Clock::time_point end,
                bool whoami, Totals& totals) {
  std::vector<double> latencies;
  std::uint64_t ok = 0, failed = 0;
  std::map<std::string, std::uint64_t> seen;
  std::string who;
  // Open loop: this caller's share of the rate, on a fixed schedule; a late
  // call still counts from when it should have been sent (no hidden stalls).
  const auto interval = s.rate > 0 ? std::chrono::duration_cast<Clock::duration>(
                                         std::chrono::duration<double>(s.connections / s.rate))
                                   : Clock::duration::zero();
  auto intended = Clock::now();
  while (true) {
    if (s.rate > 0) {
      std::this_thread::sleep_until(intended);
    } else {
      intended = Clock::now();
    }
    if (intended >= end) break;
    bool success = call(whoami ? &who : nullptr);
    auto done = Clock::now();
    if (intended >= measure_from) {
      latencies.push_back(std::chrono::duration<double, std::micro>(done - intended).count());
      (success ? ok : failed)++;
      if (whoami && success) ++seen[who];
    }
    intended += interval;
  }
  std::lock_guard lock(totals.mutex);
  totals.latencies_us.insert(totals.latencies_us.end(), latencies.begin(), latencies.end());
  totals.ok += ok;
  totals.failed += failed;
  for (auto& [backend, count] : seen) totals.by_backend[backend] += count;
}

// --in-flight-per-connection: a thread per connection, each keeping that
// many tagged calls in flight (tagged_load.h).
void run_tagged(const Settings& s, Clock::time_point measure_from, Clock::time_point end, Totals& totals) {
  bench::TaggedLoad load{.address = s.direct.empty() ? s.proxy : s.direct, .procedure = s.procedure,
                         .payload = s.payload ? *s.payload : std::string(s.payload_bytes, 'x'),
                         .in_flight = s.in_flight, .tls = s.tls_context};
  if (!s.proxy.empty()) {
    CallOptions options{.timeout = std::chrono::milliseconds(s.timeout_ms), .idempotent = s.idempotent};
    load.payload = proxy::route_args_json(s.system, s.procedure, load.payload, options);
    load.procedure = proxy::route_procedure;
  }
  std::vector<std::thread> threads;
  std::atomic<bool> failed_to_connect{false};
  for (int i = 0; i < s.connections; ++i) {
    threads.emplace_back([&] {
      try {
        auto counts = bench::run_tagged_connection(load, measure_from, end);
        std::lock_guard lock(totals.mutex);
        totals.latencies_us.insert(totals.latencies_us.end(), counts.latencies_us.begin(), counts.latencies_us.end());
        totals.ok += counts.ok;
        totals.failed += counts.failed;
      } catch (const std::exception&) {
        failed_to_connect = true;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  if (failed_to_connect) throw std::runtime_error("cannot connect to " + load.address);
}

constexpr std::size_t max_pool_size = 100'000;  // as routerd's --pool-size

// "default" (RouterOptions{}'s pool size, what library users start with),
// "auto" (adaptive, starting from the default) or a number in
// 1..max_pool_size; nullopt for anything else.
std::optional<std::size_t> parse_pool_size(const std::string& value) {
  if (value == "default" || value == "auto") return RouterOptions{}.pool_size;
  std::size_t size = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
  if (ec != std::errc{} || end != value.data() + value.size() || size < 1 || size > max_pool_size) return std::nullopt;
  return size;
}

// The open loop's settings. Library mode: RouterOptions{} as a user gets it
// (its max_pending too: the open loop measures what users get when
// overloaded), but for the pool size and strategy asked for.
bench::OpenLoopSettings open_loop_settings(const Settings& s) {
  bench::OpenLoopSettings o{.address = s.direct.empty() ? s.proxy : s.direct, .proxy = !s.proxy.empty(),
                            .library = std::nullopt,
                            .systems = system_names(s), .procedure = s.procedure,
                            .payload = s.payload ? *s.payload : std::string(s.payload_bytes, 'x'),
                            .connections = s.connections, .rate = s.rate, .seed = s.seed,
                            .duration_s = s.duration_s, .warmup_s = s.warmup_s,
                            .timeout = std::chrono::milliseconds(s.timeout_ms), .idempotent = s.idempotent,
                            .tls = s.tls_context, .json = s.json};
  if (!s.discovery.empty()) {
    RouterOptions options{.discovery = s.discovery, .strategy = s.strategy, .adaptive_pool = s.adaptive_pool};
    if (s.pool_size) options.pool_size = *s.pool_size;
    options.tls = s.tls;
    o.library = options;
  }
  return o;
}

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  return sorted[std::min(sorted.size() - 1, static_cast<std::size_t>(q * static_cast<double>(sorted.size())))];
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"routebench: closed- or open-loop load over the line protocol", "routebench"};
  cli.set_version_flag("--version", std::string("routebench ") + ROUTING_VERSION);
  Settings s;
  auto* direct = cli.add_option("--direct", s.direct, "call this address directly (echod, or a TCP proxy in front of it)")
                     ->check(app::host_port_validator());
  auto* proxy = cli.add_option("--proxy", s.proxy, "call through this routerd")->check(app::host_port_validator());
  auto* discovery = cli.add_option("--discovery", s.discovery, "call through the embedded router with this discovery")
                        ->check(app::discovery_url_validator());
  direct->excludes(proxy)->excludes(discovery);
  proxy->excludes(discovery);
  cli.add_option("--system", s.system, "system name (proxy and library modes)")->capture_default_str();
  cli.add_option("--systems", s.systems, "proxy and library modes: spread calls over this many systems, <system>0, <system>1, ...")
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}))->capture_default_str();
  cli.add_option("--procedure", s.procedure, "procedure id (3 = WHOAMI also reports the spread)")->capture_default_str();
  cli.add_option("--payload-bytes", s.payload_bytes, "payload size")->check(CLI::Range(std::size_t{0}, std::size_t{1} << 20))->capture_default_str();
  cli.add_option("--payload", s.payload, "send this payload instead (e.g. '2:x' for SLOW_ECHO, procedure 2)");
  cli.add_option("--connections", s.connections, "closed loop: concurrent callers, one connection each; open loop (--rate): connections carrying the tagged calls (direct, proxy)")->check(CLI::Range(1, 10000))->capture_default_str();
  cli.add_option("--duration-s", s.duration_s, "measured time")->check(CLI::Range(0.1, 3600.0))->capture_default_str();
  cli.add_option("--warmup-s", s.warmup_s, "unmeasured time first")->check(CLI::Range(0.0, 600.0))->capture_default_str();
  cli.add_option("--rate", s.rate,
                 "open loop: Poisson arrivals of this many calls per second in total, each sent at its arrival "
                 "time over tagged frames or the library's async_call (0: closed loop)")
      ->check(CLI::Range(0.0, 1e7))->capture_default_str();
  cli.add_option("--seed", s.seed, "open loop: seed of the arrivals' random sequence")->capture_default_str();
  cli.add_option("--timeout-ms", s.timeout_ms, "deadline per call (proxy and library; open loop: every mode)")->check(CLI::Range(1L, 3'600'000L))->capture_default_str();
  cli.add_option_function<std::string>(
         "--pool-size",
         [&s](const std::string& value) {
           s.pool_size = parse_pool_size(value);
           s.adaptive_pool = value == "auto";
         },
         "library mode: the router's pool size, a number, 'default' (RouterOptions{}'s, " +
             std::to_string(RouterOptions{}.pool_size) +
             ") or 'auto' (adaptive); without it, as many as --connections (closed loop) or the default (--rate)")
      ->check(CLI::Validator(
          [](const std::string& value) -> std::string {
            return parse_pool_size(value) ? "" : "must be 'default', 'auto' or a number in 1.." +
                                                     std::to_string(max_pool_size) + ", not '" + value + "'";
          },
          "N|default|auto"))
      ->needs(discovery);
  cli.add_option("--strategy", s.strategy, "library mode: the router's strategy")->needs(discovery)->capture_default_str();
  cli.add_option("--in-flight-per-connection", s.in_flight,
                 "direct and proxy modes: tagged calls each connection keeps in flight (0: line protocol, one at a time)")
      ->check(CLI::Range(0u, 100000u))
      ->excludes(discovery)
      ->capture_default_str();
  cli.add_flag("--idempotent", s.idempotent, "mark calls idempotent (resent once if a backend dies mid-call)");
  cli.add_flag("--json", s.json, "print one JSON line instead of text");
  app::add_client_tls_flags(cli, s.tls, "--tls");
  bench::ChurnSettings churn;
  auto* churn_command = bench::add_churn_subcommand(cli, churn);
  if (int code = app::parse_flags(cli, argc, argv); code >= 0) return code;
  if (churn_command->parsed()) {
    if (!s.direct.empty() || !s.proxy.empty() || !s.discovery.empty()) {
      std::fprintf(stderr, "routebench: churn makes no calls: give its flags after 'churn', without --direct, --proxy or --discovery before it\n");
      return 2;
    }
    common::log().set_level(spdlog::level::warn);
    return bench::run_churn(churn);
  }
  if (s.direct.empty() && s.proxy.empty() && s.discovery.empty()) {
    std::fprintf(stderr, "routebench: give --direct, --proxy or --discovery\n");
    return 2;
  }
  if (s.in_flight > 0 && (s.rate > 0 || s.procedure == 3)) {
    std::fprintf(stderr, "routebench: --in-flight-per-connection is a closed loop without the WHOAMI spread\n");
    return 2;
  }
  common::log().set_level(spdlog::level::warn);
  if (!s.tls.ca_file.empty() && s.discovery.empty()) {
    try {
      s.tls_context = rpc::tls::Context::client(core::BackendTls::files_of(s.tls));
    } catch (const std::exception& e) {
      std::fprintf(stderr, "routebench: %s\n", e.what());
      return 2;
    }
  }

  if (s.rate > 0) return bench::run_open_loop(open_loop_settings(s));

  std::unique_ptr<Router> router;
  const std::size_t pool_size = s.pool_size.value_or(static_cast<std::size_t>(s.connections));
  if (!s.discovery.empty()) {
    RouterOptions options{.discovery = s.discovery, .strategy = s.strategy, .pool_size = pool_size,
                          .adaptive_pool = s.adaptive_pool, .max_pending = 100000};
    options.tls = s.tls;
    try {
      router = std::make_unique<Router>(options);
    } catch (const std::invalid_argument& e) {
      std::fprintf(stderr, "routebench: %s\n", e.what());
      return 2;
    }
  }
  Totals totals;
  try {
    // Connections are made before the clock starts (tagged connections connect in their threads).
    std::vector<Caller> callers;
    if (s.in_flight == 0) {
      auto factory = caller_factory(s, router.get());
      for (int i = 0; i < s.connections; ++i) callers.push_back(factory());
    }
    auto start = Clock::now();
    auto measure_from = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.warmup_s));
    auto end = measure_from + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s.duration_s));
    if (s.in_flight > 0) run_tagged(s, measure_from, end, totals);
    std::vector<std::thread> threads;
    for (auto& call : callers) {
      threads.emplace_back([&, call] { run_caller(call, s, measure_from, end, s.procedure == 3, totals); });
    }
    for (auto& thread : threads) thread.join();
  } catch (const std::exception& e) {
    std::fprintf(stderr, "routebench: %s\n", e.what());
    return 1;
  }

  std::sort(totals.latencies_us.begin(), totals.latencies_us.end());
  double rate = static_cast<double>(totals.ok + totals.failed) / s.duration_s;
  double p50 = percentile(totals.latencies_us, 0.5), p99 = percentile(totals.latencies_us, 0.99),
         p999 = percentile(totals.latencies_us, 0.999);
  if (s.json) {
    // Library mode adds the pool size it ran with (scripts read fields by name).
    std::string pool = router ? ",\"pool_size\":" + std::to_string(pool_size) : "";
    std::printf("{\"calls_per_s\":%.1f,\"ok\":%llu,\"failed\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f%s}\n",
                rate, static_cast<unsigned long long>(totals.ok), static_cast<unsigned long long>(totals.failed), p50, p99, p999,
                pool.c_str());
  } else {
    std::string pool = router ? " (library, pool " + std::to_string(pool_size) + ")" : "";
    std::printf("%d connections%s, %.1f s%s: %.0f calls/s, %llu ok, %llu failed; latency p50 %.0f us, p99 %.0f us, p99.9 %.0f us\n",
                s.connections, pool.c_str(), s.duration_s, s.rate > 0 ? " (open loop)" : "", rate,
                static_cast<unsigned long long>(totals.ok), static_cast<unsigned long long>(totals.failed), p50, p99, p999);
    for (auto& [backend, count] : totals.by_backend) std::printf("  %-24s %llu\n", backend.c_str(), static_cast<unsigned long long>(count));
  }
  return totals.failed == 0 ? 0 : 1;
}
