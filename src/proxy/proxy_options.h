#pragma once
// routerd's proxy-only settings (the router's own are routing::RouterOptions).
#include <string>

namespace routing::proxy {

struct ProxyOptions {
  std::string auth_token;   // empty: no authentication
  double rate_limit = 0;    // calls per second per system; 0: unlimited
  double rate_burst = 0;    // bucket size; 0: the rate
  std::string access_log;   // path, "-" (stderr) or empty (off)
};

}  // namespace routing::proxy
