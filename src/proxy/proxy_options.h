#pragma once
// routerd's proxy-only settings (the router's own are routing::RouterOptions).
#include <cstddef>
#include <string>

namespace routing::proxy {

// Limits on guessing the auth token (auth_throttle.h says how they work).
struct AuthThrottleOptions {
  unsigned max_failures_per_connection = 3;  // then the connection is closed
  double failures_per_second = 1;            // per source address; 0: no per-address budget
  double failure_burst = 10;                 // failures an address may make at once
  std::size_t max_addresses = 10'000;        // addresses remembered (least recently failing forgotten)
};

// The shortest auth token routerd accepts: shorter ones are guessable.
inline constexpr std::size_t min_auth_token_bytes = 16;

struct ProxyOptions {
  std::string auth_token;   // empty: no authentication
  AuthThrottleOptions auth_throttle;
  double rate_limit = 0;    // calls per second per system; 0: unlimited
  double rate_burst = 0;    // bucket size; 0: the rate
  std::string access_log;   // path, "-" (stderr) or empty (off)
};

}  // namespace routing::proxy
