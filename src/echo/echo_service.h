#pragma once
// The example backend's procedures (CONTRACT §4): ECHO, SLOW_ECHO, WHOAMI.
#include "rpc/server.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace routing::echo {

inline constexpr std::uint32_t echo_procedure = 1;
inline constexpr std::uint32_t slow_echo_procedure = 2;
inline constexpr std::uint32_t whoami_procedure = 3;

// SLOW_ECHO waits at most this long; a longer delay is invalid (status 3).
inline constexpr std::chrono::milliseconds max_slow_echo_delay{3'600'000};

struct SlowEcho {
  std::chrono::milliseconds delay;
  std::string_view text;
};

// "<ms>:<text>" with ms decimal digits in 0..max_slow_echo_delay.
std::optional<SlowEcho> parse_slow_echo(std::string_view payload);

// How fast this instance serves SLOW_ECHO (for benchmarks: a backend that
// is faster than the others, or one that slows down in the middle of a run).
struct EchoSpeed {
  double speed = 1.0;  // SLOW_ECHO waits its milliseconds ÷ speed
  // From this long after start, `later_speed` instead (nullopt: never).
  std::optional<std::chrono::milliseconds> change_after;
  double later_speed = 1.0;
  // Every ECHO and WHOAMI answer waits this long first (0: none): a test
  // bed's stand-in for the network distance to another zone, where netem
  // is not available (scripts/bench_zones.sh).
  std::chrono::microseconds answer_delay{0};
  // At most this many calls worked on at once (CONTRACT §4, echod
  // --capacity; 0: unlimited). A SLOW_ECHO holds its slot while it waits;
  // further calls wait in arrival order, as in a real server with finite
  // capacity, so latency rises with load. A call whose deadline passes
  // while it waits is answered 4 and never worked on.
  std::size_t capacity = 0;
};

// Registers the procedures. WHOAMI answers `advertised`, or the server's
// listening address when it is empty.
void register_echo_service(rpc::Server& server, std::string advertised = {}, EchoSpeed speed = {});

}  // namespace routing::echo
