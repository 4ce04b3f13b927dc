#include "routing/pool_set.h"

#include <boost/asio/post.hpp>

namespace routing::core {

PoolSet::PoolSet(std::vector<boost::asio::any_io_executor> loops) : loops_(std::move(loops)) {
  for (std::size_t i = 0; i < loops_.size(); ++i) loop_pools_.push_back(std::make_unique<ConnectionPool>());
}

PooledBlockingConnection PoolSet::take_blocking(Backend& backend, Clock::time_point now,
                                                std::size_t calls_per_connection) {
  std::lock_guard lock(blocking_mutex_);
  return blocking_.take(backend, now, calls_per_connection);
}

void PoolSet::give_back_blocking(PooledBlockingConnection connection, Clock::time_point now) {
  std::lock_guard lock(blocking_mutex_);
  blocking_.give_back(std::move(connection), now);
}

void PoolSet::make_room(System& system, std::optional<std::size_t> here) {
  auto open = transition(system, nullptr, ConnectionState::closed, ConnectionState::connecting);
  if (open < system.connection_limit()) return;
  if (here && loop_pools_[*here]->evict_one(system)) return;
  if (evict_blocking(system)) return;
  for (std::size_t i = 0; i < loops_.size(); ++i) {
    if (here == i) continue;
    boost::asio::post(loops_[i], [pool = loop_pools_[i].get(), &system] { pool->evict_one(system); });
    return;
  }
}

bool PoolSet::evict_blocking(const System& system) {
  std::lock_guard lock(blocking_mutex_);
  return blocking_.evict_one(system);
}

void PoolSet::sweep_blocking(std::chrono::milliseconds idle_timeout) {
  std::lock_guard lock(blocking_mutex_);
  blocking_.sweep(idle_timeout);
}

void PoolSet::close_all_blocking() {
  std::lock_guard lock(blocking_mutex_);
  blocking_.close_all();
}

}  // namespace routing::core
