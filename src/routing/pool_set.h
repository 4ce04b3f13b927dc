#pragma once
// Every pool of connections of one router: one per worker loop (its sockets
// belong to that loop) and one of blocking connections (Router::call on the
// callers' threads, behind a mutex). What spans them lives here: a system's
// bound on open connections (pool_size, in use and idle together, over all
// pools) and making room under it.
#include "routing/connection_pool.h"

#include <boost/asio/any_io_executor.hpp>

#include <mutex>
#include <vector>

namespace routing::core {

class PoolSet {
 public:
  using Clock = std::chrono::steady_clock;

  explicit PoolSet(std::vector<boost::asio::any_io_executor> loops);

  // Worker `index`'s pool: use it on that worker's thread only.
  ConnectionPool& loop_pool(std::size_t index) { return *loop_pools_[index]; }

  PooledBlockingConnection take_blocking(Backend& backend, Clock::time_point now, std::size_t calls_per_connection);
  void give_back_blocking(PooledBlockingConnection connection, Clock::time_point now);

  // Takes a slot of `system`'s bound for a new connection; over the bound,
  // closes an idle one (the oldest, of any backend) to make room: in `here`
  // (a worker's index; nullopt: a blocking caller), else among the blocking
  // connections, else asks another worker to. A call holding a permit always
  // finds room: in-use connections never exceed permits, so when every slot
  // is taken one is idle somewhere. If it idles on another worker, until that
  // worker closes it (or, if it had none left, the next connection given back
  // there is closed instead of pooled) the system has more connections than
  // its bound: the documented slack of running on several loops.
  void make_room(System& system, std::optional<std::size_t> here);

  // Blocking connections: closes what idled past `idle_timeout` / all of them.
  void sweep_blocking(std::chrono::milliseconds idle_timeout);
  void close_all_blocking();

 private:
  bool evict_blocking(const System& system);

  std::vector<boost::asio::any_io_executor> loops_;
  std::vector<std::unique_ptr<ConnectionPool>> loop_pools_;
  std::mutex blocking_mutex_;
  BlockingConnectionPool blocking_;  // under blocking_mutex_
};

}  // namespace routing::core
