// Active health checks: every interval, each backend of a system is pinged
// (procedure 0) on shard 0. `unhealthy_after` failures in a row take a
// backend out of balancing; one answer brings it back. The check borrows an
// idle pooled connection (so idle connections are exercised too) or opens
// one within the system's connection bound, and leaves it pooled.
#include "routing/router_core.h"
#include "rpc/timed_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include "common/log.h"

namespace routing::core {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

asio::awaitable<void> RouterCore::health_loop(std::shared_ptr<System> system,
                                              std::shared_ptr<asio::steady_timer> timer) {
  while (!stopping_ && !system->retired()) {
    timer->expires_after(options_.health_check_interval);
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_ || system->retired()) break;
    auto list = system->backends();
    for (const auto& backend : list->backends) {
      if (stopping_) break;
      co_await check_backend(*system, backend);
    }
  }
}

asio::awaitable<void> RouterCore::check_backend(System& system, std::shared_ptr<Backend> backend) {
  Shard& shard = *shards_[0];
  PooledConnection connection = shard.pool.take(*backend);
  bool passed = false;
  if (!connection) {
    if (system.open_connections.load() >= system.connection_limit()) co_return;  // busy serving: skip this round
    system.open_connections.fetch_add(1);
    auto fresh = rpc::ClientConnection::create(shard.executor, options_.max_frame_bytes);
    auto ec = backend->endpoint ? co_await rpc::connect_within(fresh, *backend->endpoint, options_.health_check_timeout)
                                : rpc::error_code(asio::error::host_not_found);
    if (ec) {
      system.open_connections.fetch_sub(1);
    } else {
      connection = PooledConnection(std::move(fresh), backend);
    }
  }
  if (connection) {
    Reply pong = co_await rpc::call_within(connection.shared(), 0, "", options_.health_check_timeout);
    passed = pong.ok() && connection.connection().is_open();
    if (passed) shard.pool.give_back(std::move(connection));
  }

  if (passed) {
    backend->health_failures = 0;
    if (!backend->healthy.exchange(true)) {
      system.begin_slow_start(*backend, Clock::now());
      common::log().info("system '{}': backend {} is healthy again", system.name(), backend->address);
    }
  } else if (++backend->health_failures >= options_.unhealthy_after && backend->healthy.exchange(false)) {
    common::log().warn("system '{}': backend {} failed {} health checks: taken out", system.name(),
                 backend->address, backend->health_failures);
  }
}

}  // namespace routing::core
