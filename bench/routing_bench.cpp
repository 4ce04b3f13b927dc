// The router's per-call building blocks, alone: picking a backend with each
// strategy (over a real System), taking a permit, taking and giving back a
// pooled connection, and routerd's ROUTE argument scanner against the full
// JSON parse. Regression guards: compare runs of the same machine.
#include "proxy/route_args.h"
#include "proxy/route_json.h"
#include "routing/connection_pool.h"
#include "routing/system.h"
#include "common/log.h"

#include <benchmark/benchmark.h>

#include <sys/socket.h>

namespace {

using namespace routing;
using namespace routing::core;

std::vector<std::string> addresses(int count) {
  std::vector<std::string> out;
  for (int i = 0; i < count; ++i) out.push_back("127.0.0.1:" + std::to_string(20000 + i));
  return out;
}

void BM_Pick(benchmark::State& state) {
  LiveOptions options{RouterOptions{}};
  System system("bench", options, static_cast<Strategy>(state.range(0)));
  system.set_backends(addresses(static_cast<int>(state.range(1))));
  auto list = system.backends();
  for (auto _ : state) {
    auto backend = system.pick(*list, {});
    benchmark::DoNotOptimize(backend.get());
  }
  state.SetLabel(std::string(strategy_name(static_cast<Strategy>(state.range(0)))));
}
BENCHMARK(BM_Pick)->ArgsProduct({{0, 1, 2, 3, 4}, {3, 100}});

// One discovery change of a system of N backends: one leaves, another
// joins (the set otherwise the same). Churn costs this per change
// (scripts/bench_scale.sh, the churn axes).
void BM_BackendSetChange(benchmark::State& state) {
  common::log().set_level(spdlog::level::warn);  // a line per change otherwise
  LiveOptions options{RouterOptions{}};
  System system("bench", options, Strategy::round_robin);
  const int n = static_cast<int>(state.range(0));
  auto with = addresses(n + 1);
  auto without_last = std::vector<std::string>(with.begin(), with.end() - 1);
  auto without_first = std::vector<std::string>(with.begin() + 1, with.end());
  system.set_backends(without_last);
  bool flip = false;
  for (auto _ : state) {
    system.set_backends((flip = !flip) ? without_first : without_last);
  }
  state.SetComplexityN(n);
}
BENCHMARK(BM_BackendSetChange)->Arg(100)->Arg(1000)->Arg(5000);

// A pick with adaptive pools (backends below their limit first) and slow
// start (every backend ramping, so each takes part by a draw).
void BM_PickAdaptiveRamping(benchmark::State& state) {
  RouterOptions ramping;
  ramping.adaptive_pool = true;
  ramping.slow_start = std::chrono::hours(1);
  LiveOptions options{ramping};
  System system("bench", options, Strategy::pick_two);
  system.set_backends({"127.0.0.1:1"});
  system.set_backends(addresses(static_cast<int>(state.range(0))));  // all joined: all ramping
  auto list = system.backends();
  for (auto _ : state) {
    auto backend = system.pick(*list, {});
    benchmark::DoNotOptimize(backend.get());
  }
}
BENCHMARK(BM_PickAdaptiveRamping)->Arg(3)->Arg(100);

void BM_PermitTakeAndRelease(benchmark::State& state) {
  ConcurrencyLimiter limiter(10, 1000);
  for (auto _ : state) {
    Permit permit;
    benchmark::DoNotOptimize(limiter.try_acquire(permit));
  }
}
BENCHMARK(BM_PermitTakeAndRelease);

// Pooled connections over socket pairs (open, never written): take() checks
// them as it does real ones.
void BM_PoolTakeAndGiveBack(benchmark::State& state) {
  RouterOptions pool_of_64;
  pool_of_64.pool_size = 64;
  LiveOptions options{pool_of_64};
  System system("bench", options, Strategy::round_robin);
  system.set_backends(addresses(1));
  auto backend = system.backends()->backends.front();
  BlockingConnectionPool pool;
  const int idle = static_cast<int>(state.range(0));
  for (int i = 0; i < idle; ++i) {
    int fds[2];
    ::socketpair(AF_UNIX, SOCK_STREAM, 0, fds);
    system.open_connections.fetch_add(1);
    pool.give_back(PooledBlockingConnection(std::make_shared<rpc::BlockingConnection>(fds[0], 1024), backend));
    (void)fds[1];  // the peer stays open (leaked for the benchmark's life)
  }
  for (auto _ : state) {
    auto connection = pool.take(*backend);
    if (!connection) state.SkipWithError("pool lost its connection");
    pool.give_back(std::move(connection));
  }
}
BENCHMARK(BM_PoolTakeAndGiveBack)->Arg(1)->Arg(32);

const std::string route_args = R"({"name":"echo","procedure_id":1,"payload":"some payload of moderate size","timeout_ms":5000})";

void BM_RouteArgsScanner(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(proxy::scan_route_args(route_args));
}
BENCHMARK(BM_RouteArgsScanner);

// As routerd parses: into one RouteArgs reused call after call (no allocation).
void BM_RouteArgsScannerReused(benchmark::State& state) {
  proxy::RouteArgs args;
  for (auto _ : state) {
    benchmark::DoNotOptimize(proxy::scan_route_args(route_args, args));
    benchmark::DoNotOptimize(args);
  }
}
BENCHMARK(BM_RouteArgsScannerReused);

void BM_RouteArgsFullParse(benchmark::State& state) {
  for (auto _ : state) benchmark::DoNotOptimize(proxy::parse_route_args_with_tree(route_args));
}
BENCHMARK(BM_RouteArgsFullParse);

}  // namespace

int main(int argc, char** argv) {
  common::log().set_level(spdlog::level::warn);  // no "N backend(s)" line per run
  benchmark::Initialize(&argc, argv);
  benchmark::RunSpecifiedBenchmarks();
  return 0;
}
