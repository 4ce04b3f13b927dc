#pragma once
// discoveryd's refusals (requests over its limits) in its log, throttled
// (common/throttled_log.h). discoveryd has no metrics endpoint: this log,
// and total(), are where the refusals show.
#include "common/throttled_log.h"

namespace routing::discovery {

class RefusalLog : public common::ThrottledLog {
 public:
  explicit RefusalLog(Clock::duration interval = std::chrono::seconds(10))
      : ThrottledLog("request(s) over discoveryd's limits refused", interval) {}
};

}  // namespace routing::discovery
