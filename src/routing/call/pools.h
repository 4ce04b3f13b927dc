#pragma once
// The call flow's two kinds of connections (call_flow.h's `Pools`): a worker
// loop's own pool, or the blocking connections of callers' threads.
#include "routing/pool_set.h"

namespace routing::core {

struct LoopPools {
  using Connection = rpc::ClientConnection;
  PoolSet& pools;
  std::size_t worker;

  PooledConnection take(Backend& backend, std::chrono::steady_clock::time_point now) {
    return pools.loop_pool(worker).take(backend, now, backend.system.options().calls_per_connection);
  }
  void give_back(PooledConnection connection, std::chrono::steady_clock::time_point now) {
    pools.loop_pool(worker).give_back(std::move(connection), now);
  }
  void make_room(System& system) { pools.make_room(system, worker); }
};

struct BlockingPools {
  using Connection = rpc::BlockingConnection;
  PoolSet& pools;

  PooledBlockingConnection take(Backend& backend, std::chrono::steady_clock::time_point now) {
    // Tagged connections are shared only while no call waits for a slot.
    // A waiting call's request is sent by the thread that frees a slot, and
    // its own thread sleeps until that connection has data to read: one
    // wake per call, as on the line protocol, which sharing would break
    // (another call's answer, or the duty to read for others, wakes it
    // first). Measured: docs/performance.md, "Blocking calls over tagged frames".
    const bool slots_short = backend.system.limiter.waiting() > 0;
    return pools.take_blocking(backend, now, slots_short ? 1 : backend.system.options().calls_per_connection);
  }
  void give_back(PooledBlockingConnection connection, std::chrono::steady_clock::time_point now) {
    pools.give_back_blocking(std::move(connection), now);
  }
  void make_room(System& system) { pools.make_room(system, std::nullopt); }
};

}  // namespace routing::core
