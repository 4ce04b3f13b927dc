// Adaptive pools (RouterOptions::adaptive_pool): the loop that turns each
// window of measurements into new limits. The arithmetic is AdaptiveLimit's
// (adaptive_limit.h); what a window holds is counted on the call paths
// (Backend::begin_call / end_call).
#include "routing/router_core.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace routing::core {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

asio::awaitable<void> RouterCore::limits_loop() {
  auto last = Clock::now();
  while (!stopping_) {
    limits_timer_->expires_after(options().adaptive_interval);
    co_await limits_timer_->async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    const auto now = Clock::now();
    for (const auto& system : systems_.all()) system->update_limits(now - last, now);
    last = now;
  }
}

}  // namespace routing::core
