#include "routing/outlier.h"

#include <algorithm>

namespace routing::core {

void OutlierState::eject(Clock::time_point now, std::chrono::milliseconds base,
                         std::chrono::milliseconds max) {
  ++ejections_;
  auto time = std::min<std::chrono::milliseconds>(base * static_cast<long>(ejections_), max);
  ejected_until_ = now + time;
  consecutive_failures_ = 0;  // it gets a fresh start when it comes back
}

}  // namespace routing::core
