#pragma once
// routebench --rate R: a truly open loop. Calls arrive as a Poisson process
// of R calls/s in total (arrivals.h) and each is sent at its arrival time
// whatever happened to the earlier ones: nothing the server does slows the
// arrivals, as with real users (a closed loop, or callers on a schedule that
// wait for each answer, would back off exactly when the server overloads).
// Every call is asynchronous with its own deadline:
//   direct, proxy  tagged frames (CONTRACT §8) over a few connections, each
//                  carrying many calls in flight (rpc::ClientConnection);
//                  proxy calls are ROUTEs with "timeout_ms"
//   library        routing::Router::async_call with CallOptions::timeout
// One thread runs the generator and takes every answer. The run ends at its
// duration; calls still in flight are waited for at most their deadline
// (+1 s), then count as timed out. The report (open_loop_outcomes.h) counts
// the calls that arrived after the warm-up.
#include <routing/router.h>

#include "rpc/tls/tls_context.h"

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace routing::bench {

struct OpenLoopSettings {
  // Direct (echod) or proxy (routerd): the address; ignored in library mode.
  std::string address;
  bool proxy = false;
  // Library mode when set: the router to build (after the generator's loop,
  // so that it is destroyed first and never completes into a dead loop).
  std::optional<RouterOptions> library;
  std::vector<std::string> systems;  // proxy and library: calls take them in turn
  std::uint32_t procedure = 1;
  std::string payload;
  int connections = 16;  // direct and proxy
  double rate = 1;       // calls/s in total
  std::uint64_t seed = 1;
  double duration_s = 5, warmup_s = 1;
  std::chrono::milliseconds timeout{5000};
  bool idempotent = false;
  std::shared_ptr<const rpc::tls::Context> tls;  // direct and proxy; null: plain TCP
  bool json = false;
};

// Runs it and prints the report. 0: it ran and calls succeeded (failures at
// overload are the measurement, not an error); 1: it could not connect, or
// no call of the window succeeded; 2: a router option was refused.
int run_open_loop(const OpenLoopSettings& settings);

}  // namespace routing::bench
