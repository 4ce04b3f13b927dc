#pragma once
// One worker's pooled connections (and, behind a mutex, the blocking
// callers'). Connections belong to the worker's event loop, so each worker
// keeps its own idle lists (no locks); the per-system bound on open
// connections is kept with the system's atomic counter.
//
// A connection's states and their one transition function are in
// connection_state.h: in use (held in a PooledConnection), idle here in its
// backend's FIFO (reused oldest first, checked before reuse), closed after
// the idle timeout, when its backend leaves discovery, or to make room for
// another backend's. The pool is a template over the connection type so
// that it can be tested with a fake one (tests/unit/connection_pool_test.cpp).
#include "common/ring_queue.h"
#include "routing/backend.h"
#include "routing/connection_state.h"
#include "routing/system.h"
#include "rpc/blocking_connection.h"
#include "rpc/client_connection.h"

#include <optional>
#include <unordered_map>

namespace routing::core {
namespace pool_detail {

// Blocking connections (and the tests' fakes) never speak tagged frames.
template <class Connection>
bool shares(const Connection& connection) {
  if constexpr (requires { connection.tagged(); }) {
    return connection.tagged();
  } else {
    return false;
  }
}
// A connection that counts its leases itself (the blocking one: its calls
// register only once they run, on other threads, after the pool's lock is
// released) hears of each lease taken and returned.
template <class Connection>
void note_lease(Connection& connection, bool taken) {
  if constexpr (requires { connection.lease_taken(); }) {
    taken ? connection.lease_taken() : connection.lease_returned();
  }
}
template <class Connection>
std::size_t calls_on(const Connection& connection) {
  if constexpr (requires { connection.in_flight(); }) {
    return connection.in_flight();
  } else {
    return 0;
  }
}

}  // namespace pool_detail

// A connection in use, counted while it exists (made from a connecting
// one); closing it (or destroying this) moves it to closed. Or a lease of a
// shared tagged connection (one of several calls on it): the pool owns and
// counts that connection, and closing a lease only lets go of it. `Connection` is rpc::ClientConnection (event
// loops) or rpc::BlockingConnection (blocking calls on the caller's thread).
template <class Connection>
class BasicPooledConnection {
 public:
  BasicPooledConnection() = default;
  BasicPooledConnection(std::shared_ptr<Connection> connection, std::shared_ptr<Backend> backend);
  // A lease of a shared connection the pool keeps (not counted again).
  static BasicPooledConnection lease(std::shared_ptr<Connection> connection, std::shared_ptr<Backend> backend);
  BasicPooledConnection(BasicPooledConnection&&) noexcept = default;
  BasicPooledConnection& operator=(BasicPooledConnection&& other) noexcept;
  ~BasicPooledConnection() { close(); }

  explicit operator bool() const { return connection_ != nullptr; }
  bool is_lease() const { return lease_; }
  Connection& connection() { return *connection_; }
  const Connection& connection() const { return *connection_; }
  const std::shared_ptr<Connection>& shared() const { return connection_; }
  Backend& backend() { return *backend_; }
  const std::shared_ptr<Backend>& backend_shared() const { return backend_; }
  void close();
  // The backend's count of failed calls when this use of the connection
  // began (made, or taken from idle): the pool trusts it again only if no
  // call to the backend failed since then. Read at pooling instead, a
  // connection answered just before its backend died but given back late
  // (its thread descheduled) would be trusted after the death was known.
  std::uint64_t failures_before_use() const { return failures_before_use_; }
  void note_use_begins() { failures_before_use_ = backend_->failed_attempts.load(std::memory_order_relaxed); }

 private:
  std::shared_ptr<Connection> connection_;
  std::shared_ptr<Backend> backend_;
  std::uint64_t failures_before_use_ = 0;
  bool lease_ = false;
};

// Idle connections, per backend, oldest first. Not thread-safe: each event
// loop has its own; the pool of blocking connections is guarded by a mutex.
template <class Connection>
class BasicConnectionPool {
 public:
  using PooledConnection = BasicPooledConnection<Connection>;
  using Clock = std::chrono::steady_clock;

  BasicConnectionPool() = default;
  BasicConnectionPool(const BasicConnectionPool&) = delete;
  BasicConnectionPool& operator=(const BasicConnectionPool&) = delete;
  // Idle connections leave through their one transition (the counters stay
  // right); shared ones still carrying calls close with the pool.
  ~BasicConnectionPool() {
    close_all();
    for (auto& [backend, list] : idle_) list.backend->shared_connections.fetch_sub(list.shared.size(), std::memory_order_relaxed);
  }

  // A pooled connection is checked with a non-blocking MSG_PEEK before reuse
  // (one syscall), unless it was used within its kind's
  // Connection::trusted_while_idle_for and no call to its backend has failed
  // since that use began (a backend that just died: its other connections are
  // then suspect too). An event-loop connection's read is armed while it
  // idles, so the loop has marked it closed within a turn of the peer
  // closing: trusted for 50 ms (our draining servers keep a connection open
  // until it has been quiet for drain_quiet, 200 ms by default). A blocking
  // connection has nothing watching it: trusted for 2 ms only. Why these
  // numbers: docs/performance.md, "Blocking pooled connections are trusted
  // for 2 ms".

  // Connections that speak tagged frames (Connection::tagged()) are shared
  // instead: once given back after their first call they stay here, and
  // take() lends them (leases) to up to `calls_per_connection` calls at
  // once, the busiest below that first (answers batch on few connections);
  // at the system's bound on connections, the least loaded takes more. A shared connection with no call counts as idle for the idle
  // timeout and for making room (evict_one).

  // A lease of the busiest shared connection to `backend` below
  // `calls_per_connection` calls (the least loaded, at the system's bound), else
  // the oldest idle connection that still looks usable; dead ones met on the
  // way are closed. Empty if none. `now`: the caller's clock reading, if it
  // has one (a clock read costs on these paths).
  PooledConnection take(Backend& backend, Clock::time_point now = Clock::now(), std::size_t calls_per_connection = 1);
  // Back to the idle list (a tagged one: shared), unless after_use() says it
  // drains. A lease: the shared connection's last use is noted.
  void give_back(PooledConnection connection, Clock::time_point now = Clock::now());
  // What a connection given back becomes: idle, or closed when it broke,
  // its backend left discovery, the pool closed, or its system is over the
  // bound (another worker made room by asking us to close an idle
  // connection we did not have).
  ConnectionState after_use(PooledConnection& connection) const;

  // An idle connection lent out (to a health check) with its idle time.
  struct Borrowed {
    PooledConnection connection;
    Clock::time_point idle_since;
  };
  // The oldest idle connection to `backend` that still looks usable (dead
  // ones met on the way are closed, as take() does); nullopt if none.
  std::optional<Borrowed> borrow_oldest(Backend& backend);
  // Back at the head of its backend's idle list with its idle time kept, so
  // borrowing never delays its idle timeout; closed if it broke meanwhile.
  void put_back(Borrowed borrowed);
  // A health check's lease of the least loaded shared (tagged) connection to
  // `backend`, however many calls it carries (a check is one more); empty
  // if there is none. Given back with give_back_lent, which notes no use:
  // checks never keep a connection from reaching the idle timeout.
  PooledConnection lend_shared(Backend& backend);
  void give_back_lent(PooledConnection lease);
  // Closes the oldest idle connection of `system` (any backend); false if
  // this worker has none.
  bool evict_one(const System& system);
  // Closes what idled past `idle_timeout`, died, or lost its backend.
  void sweep(std::chrono::milliseconds idle_timeout);
  // Closes every idle connection, and from now on every one given back.
  void close_all();

 private:
  struct Idle {
    PooledConnection connection;
    Clock::time_point since;
    std::uint64_t failed_attempts;  // the backend's count when its last use began
  };
  struct Shared {
    PooledConnection connection;  // counted in use while it is open
    Clock::time_point last_used;
  };
  struct BackendIdle {
    std::shared_ptr<Backend> backend;  // kept alive while connections idle
    common::RingQueue<Idle> idle;      // oldest first
    std::vector<Shared> shared;        // tagged connections, lent to many calls
  };
  // Whether a connection of `backend` given back now is closed instead of
  // kept: the pool closed, the backend left discovery, or its system is over
  // its bound on connections.
  bool drains(const Backend& backend) const;
  // Moves the oldest idle connection of `list` out of the idle state.
  PooledConnection leave_idle(BackendIdle& list);
  PooledConnection lease_shared(BackendIdle& list, Backend& backend, std::size_t calls_per_connection,
                                Clock::time_point now);
  Shared* choose_shared(BackendIdle& list, Backend& backend, std::size_t calls_per_connection);
  // The shared connection of `list` carrying the fewest calls; null if none.
  static Shared* least_loaded(BackendIdle& list);
  void share(PooledConnection connection, Clock::time_point now);
  // `used_at`: when the shared connection was last used (nullopt: a check's, not noted).
  void return_lease(PooledConnection lease, std::optional<Clock::time_point> used_at);
  // Closes the shared connections that are closed, or carry no call and
  // `unwanted` says so; true when one was closed by `unwanted`.
  template <class Unwanted>
  bool close_shared(BackendIdle& list, Unwanted unwanted, bool just_one = false);
  void push_idle(PooledConnection connection, Clock::time_point since, bool at_front);

  std::unordered_map<Backend*, BackendIdle> idle_;
  bool closed_ = false;
};

using PooledConnection = BasicPooledConnection<rpc::ClientConnection>;
using ConnectionPool = BasicConnectionPool<rpc::ClientConnection>;
using PooledBlockingConnection = BasicPooledConnection<rpc::BlockingConnection>;
using BlockingConnectionPool = BasicConnectionPool<rpc::BlockingConnection>;

extern template class BasicPooledConnection<rpc::ClientConnection>;
extern template class BasicPooledConnection<rpc::BlockingConnection>;
extern template class BasicConnectionPool<rpc::ClientConnection>;
extern template class BasicConnectionPool<rpc::BlockingConnection>;

}  // namespace routing::core
