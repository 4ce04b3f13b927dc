#include "routing/backend.h"

#include "common/log.h"
#include "routing/system.h"
#include "rpc/address.h"

#include <boost/asio/ip/address.hpp>

#include <algorithm>

namespace routing::core {
using Clock = std::chrono::steady_clock;

namespace {

AdaptiveLimitSettings per_backend_settings(const RouterOptions& options) {
  AdaptiveLimitSettings settings;
  settings.initial = options.pool_size;
  settings.min_limit = 1;
  settings.max_limit = options.adaptive_max_pool;
  return settings;
}

}  // namespace

Backend::Backend(System& owner, std::string addr)
    : system(owner), address(std::move(addr)), adaptive(per_backend_settings(owner.options())) {
  if (owner.options().adaptive_pool) limit = adaptive.limit();
  // A literal IP is used at once; a host name is looked up off the loop
  // (System::publish starts its DnsRefresher), never here.
  auto parsed = rpc::parse_host_port(address);
  if (!parsed) {
    common::log().warn("system '{}': backend {} cannot be used: expected HOST:PORT", owner.name(), address);
    return;
  }
  boost::system::error_code ec;
  auto ip = boost::asio::ip::make_address(parsed->host, ec);
  if (!ec) {
    endpoint.set({ip, parsed->port});
  } else {
    host_name = std::move(parsed);
  }
}

void Backend::begin_call() {
  auto now_in_flight = in_flight.fetch_add(1, std::memory_order_relaxed) + 1;
  if (system.options().adaptive_pool) window.arrived(now_in_flight, limit.load(std::memory_order_relaxed));
}

void Backend::end_call(Clock::duration took, Clock::time_point now) {
  in_flight.fetch_sub(1, std::memory_order_relaxed);
  latency.record(took);
  auto elapsed = std::chrono::duration_cast<std::chrono::nanoseconds>(took);
  if (system.options().adaptive_pool) window.completed(elapsed);
  if (system.strategy() == Strategy::peak_ewma) {
    peak_latency.observe(elapsed, now.time_since_epoch(), system.options().peak_ewma_decay);
  }
}

double Backend::ramp_share(Clock::time_point now, std::chrono::nanoseconds ramp) const {
  auto from = ramp_from_ns.load(std::memory_order_relaxed);
  if (from == 0 || ramp.count() <= 0) return 1.0;
  auto elapsed = now.time_since_epoch().count() - from;
  if (elapsed >= ramp.count()) return 1.0;
  constexpr double floor_share = 0.1;  // as Envoy's slow start: never starved entirely
  return std::max(floor_share, static_cast<double>(elapsed) / static_cast<double>(ramp.count()));
}

}  // namespace routing::core

namespace routing::core {

void Backend::place(const discovery::Placement& placement, const std::string& router_zone) {
  weight.store(placement.weight, std::memory_order_relaxed);
  local.store(router_zone.empty() || placement.zone == router_zone, std::memory_order_relaxed);
  std::lock_guard lock(placement_mutex_);
  placement_ = placement;
}

}  // namespace routing::core
