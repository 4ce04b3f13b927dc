#pragma once
// `routebench churn`: registers a system's backends with a discovery service
// (discoveryd, etcd) and keeps their leases alive, and meanwhile changes the
// set a given number of times a second, for a bounded time; then withdraws
// them all. What the scale bench (scripts/bench_scale.sh, axes
// backends-discoveryd and churn) runs beside routerd and the load.
//
// The backends are the addresses bench_scale.sh's backends() makes:
// instance i is 127.(1 + i / 62500).(i / 250 % 250).(1 + i % 250):PORT.
// Instances 0..N-1 are registered first; the next N are spares. A change
// replaces one live instance, chosen at random, by the spare that waited
// longest (a rolling deploy or an autoscaler swapping a machine): the old one
// is deregistered and the new one registered, two requests sent at once
// (the set has N instances again once both are done: discoveryd's bound on
// instances per name is never passed).
#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

namespace routing::bench {

struct ChurnSettings {
  std::string discovery;        // URL, e.g. rpc://127.0.0.1:10200
  std::string system = "echo";  // the name the backends register under
  std::size_t backends = 0;     // N
  std::uint16_t backend_port = 0;
  double rate = 0;         // changes per second; 0: only register and keep the leases
  double duration_s = 10;  // from the end of the first registration to the withdrawal
  long ttl_ms = 30'000;    // lease; each instance refreshed every ttl_ms / 3
  std::size_t in_flight = 256;  // discovery requests outstanding at most
  std::uint32_t seed = 1;       // which instances the changes replace
  bool json = false;
};

// Instance i's address (the scheme above).
std::string churn_address(std::size_t i, std::uint16_t port);

// Adds the `churn` subcommand with its flags, filling `settings`.
CLI::App* add_churn_subcommand(CLI::App& app, ChurnSettings& settings);

// Runs it: 0 when every request succeeded, 1 otherwise (the first failure on
// stderr), 2 for a discovery URL it cannot use. Stops early on SIGINT/SIGTERM
// (still withdrawing). Prints "registered N instances of 'NAME' in T ms" on
// stderr when the first registration is done, and a summary at the end on
// stdout (one JSON line with --json).
int run_churn(const ChurnSettings& settings);

}  // namespace routing::bench
