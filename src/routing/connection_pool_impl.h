#pragma once
// The definitions of connection_pool.h's templates: instantiated for the
// real connection types in connection_pool.cpp, and for a fake one in the
// pool's unit tests.
#include "routing/connection_pool.h"

namespace routing::core {

template <class Connection>
BasicPooledConnection<Connection>::BasicPooledConnection(std::shared_ptr<Connection> connection,
                                                         std::shared_ptr<Backend> backend)
    : connection_(std::move(connection)), backend_(std::move(backend)) {
  transition(backend_->system, backend_.get(), ConnectionState::connecting, ConnectionState::in_use);
  note_use_begins();
}

template <class Connection>
BasicPooledConnection<Connection> BasicPooledConnection<Connection>::lease(std::shared_ptr<Connection> connection,
                                                                           std::shared_ptr<Backend> backend) {
  BasicPooledConnection leased;
  leased.connection_ = std::move(connection);
  leased.backend_ = std::move(backend);
  leased.lease_ = true;
  return leased;
}

template <class Connection>
BasicPooledConnection<Connection>& BasicPooledConnection<Connection>::operator=(
    BasicPooledConnection&& other) noexcept {
  if (this != &other) {
    close();
    connection_ = std::move(other.connection_);
    backend_ = std::move(other.backend_);
    failures_before_use_ = other.failures_before_use_;
    lease_ = other.lease_;
  }
  return *this;
}

template <class Connection>
void BasicPooledConnection<Connection>::close() {
  if (!connection_) return;
  if (lease_) {  // the pool owns the connection: only this call lets go
    pool_detail::note_lease(*connection_, false);
    connection_.reset();
    backend_.reset();
    lease_ = false;
    return;
  }
  connection_->close();
  connection_.reset();
  transition(backend_->system, backend_.get(), ConnectionState::in_use, ConnectionState::closed);
  backend_.reset();
}

template <class Connection>
auto BasicConnectionPool<Connection>::leave_idle(BackendIdle& list) -> PooledConnection {
  PooledConnection connection = std::move(list.idle.front().connection);
  list.idle.pop_front();
  transition(list.backend->system, list.backend.get(), ConnectionState::idle, ConnectionState::in_use);
  connection.note_use_begins();
  return connection;
}

template <class Connection>
void BasicConnectionPool<Connection>::push_idle(PooledConnection connection, Clock::time_point since, bool at_front) {
  Backend& backend = connection.backend();
  auto& list = idle_[&backend];
  if (!list.backend) list.backend = connection.backend_shared();
  auto failures_before_use = connection.failures_before_use();
  Idle entry{std::move(connection), since, failures_before_use};
  if (at_front) {
    list.idle.push_front(std::move(entry));
  } else {
    list.idle.push_back(std::move(entry));
  }
  transition(backend.system, &backend, ConnectionState::in_use, ConnectionState::idle);
}

template <class Connection>
BasicPooledConnection<Connection> BasicConnectionPool<Connection>::take(Backend& backend, Clock::time_point now,
                                                                        std::size_t calls_per_connection) {
  auto it = idle_.find(&backend);
  if (it == idle_.end()) return {};
  auto& list = it->second;
  if (!list.shared.empty() && !closed_) {
    if (auto leased = lease_shared(list, backend, calls_per_connection, now)) return leased;
  }
  while (!list.idle.empty()) {
    bool trusted = now - list.idle.front().since < Connection::trusted_while_idle_for &&
                   list.idle.front().failed_attempts == backend.failed_attempts.load(std::memory_order_relaxed);
    PooledConnection connection = leave_idle(list);
    if (trusted ? connection.connection().is_open() : connection.connection().peer_looks_open()) {
      return connection;
    }
    // Closed by the peer while idle (e.g. the backend restarted): `connection` closes.
  }
  return {};
}

template <class Connection>
ConnectionState BasicConnectionPool<Connection>::after_use(PooledConnection& connection) const {
  if (!connection.connection().is_open() || drains(connection.backend())) return ConnectionState::closed;
  return ConnectionState::idle;
}

template <class Connection>
bool BasicConnectionPool<Connection>::drains(const Backend& backend) const {
  return closed_ || backend.removed.load(std::memory_order_relaxed) ||
         backend.system.open_connections.load(std::memory_order_relaxed) > backend.system.connection_limit();
}

template <class Connection>
void BasicConnectionPool<Connection>::give_back(PooledConnection connection, Clock::time_point now) {
  if (connection.is_lease()) return return_lease(std::move(connection), now);
  if (after_use(connection) != ConnectionState::idle) return;  // `connection` closes
  if (pool_detail::shares(connection.connection())) return share(std::move(connection), now);
  push_idle(std::move(connection), now, false);
}

// Fills the busiest connection below the target first, so that answers
// batch on few connections and the rest fall idle (and are closed by the
// idle timeout); at the system's bound, the least loaded takes one more.
template <class Connection>
auto BasicConnectionPool<Connection>::lease_shared(BackendIdle& list, Backend& backend,
                                                   std::size_t calls_per_connection,
                                                   Clock::time_point now) -> PooledConnection {
  close_shared(list, [](const Shared&) { return false; });  // the dead ones
  for (;;) {
    Shared* chosen = choose_shared(list, backend, calls_per_connection);
    if (!chosen) return {};
    // One that carried no call for a while is checked as an idle one is
    // (take()): nothing may have read it since (a blocking one), so a peer
    // that closed it shows only now. Only the chosen one: checking every
    // quiet one on every call cost a syscall per connection per call
    // (docs/performance.md, "Issue 22: shared connections checked when chosen").
    auto& connection = chosen->connection.connection();
    if (pool_detail::calls_on(connection) == 0 && now - chosen->last_used >= Connection::trusted_while_idle_for &&
        !connection.peer_looks_open()) {
      connection.close();
      close_shared(list, [](const Shared&) { return false; });
      continue;
    }
    pool_detail::note_lease(connection, true);
    return PooledConnection::lease(chosen->connection.shared(), chosen->connection.backend_shared());
  }
}

// The busiest connection below the target; at the system's bound, the least
// loaded; else none (a new connection is wanted).
template <class Connection>
auto BasicConnectionPool<Connection>::choose_shared(BackendIdle& list, Backend& backend,
                                                    std::size_t calls_per_connection) -> Shared* {
  Shared* fullest_below = nullptr;
  for (Shared& entry : list.shared) {
    const std::size_t calls = pool_detail::calls_on(entry.connection.connection());
    if (calls < calls_per_connection &&
        (!fullest_below || calls > pool_detail::calls_on(fullest_below->connection.connection()))) {
      fullest_below = &entry;
    }
  }
  if (fullest_below) return fullest_below;
  if (backend.system.open_connections.load(std::memory_order_relaxed) >= backend.system.connection_limit()) {
    return least_loaded(list);
  }
  return nullptr;
}

template <class Connection>
auto BasicConnectionPool<Connection>::least_loaded(BackendIdle& list) -> Shared* {
  Shared* least = nullptr;
  for (Shared& entry : list.shared) {
    if (!least || pool_detail::calls_on(entry.connection.connection()) <
                      pool_detail::calls_on(least->connection.connection())) {
      least = &entry;
    }
  }
  return least;
}

template <class Connection>
void BasicConnectionPool<Connection>::share(PooledConnection connection, Clock::time_point now) {
  auto& list = idle_[&connection.backend()];
  if (!list.backend) list.backend = connection.backend_shared();
  list.shared.push_back(Shared{std::move(connection), now});
  list.backend->shared_connections.fetch_add(1, std::memory_order_relaxed);
}

template <class Connection>
void BasicConnectionPool<Connection>::return_lease(PooledConnection lease, std::optional<Clock::time_point> used_at) {
  Backend& backend = lease.backend();
  auto it = idle_.find(&backend);
  if (it == idle_.end()) return;
  auto& list = it->second;  // keeps the backend alive
  const Connection* leased = lease.shared().get();
  for (Shared& entry : list.shared) {
    if (used_at && entry.connection.shared().get() == leased) entry.last_used = *used_at;
  }
  lease.close();  // first: a connection counting its leases carries one call less now
  // Drains as an idle one would (after_use): once it carries no call.
  const bool draining = drains(backend);
  // close_shared also drops connections that closed (this lease's, if it failed).
  close_shared(list, [&](const Shared& entry) { return draining && entry.connection.shared().get() == leased; });
}

template <class Connection>
template <class Unwanted>
bool BasicConnectionPool<Connection>::close_shared(BackendIdle& list, Unwanted unwanted, bool just_one) {
  bool closed_one = false;
  for (auto entry = list.shared.begin(); entry != list.shared.end();) {
    auto& connection = entry->connection.connection();
    const bool dead = !connection.is_open();
    const bool drop =
        dead || (!(just_one && closed_one) && pool_detail::calls_on(connection) == 0 && unwanted(*entry));
    if (!drop) {
      ++entry;
      continue;
    }
    closed_one = closed_one || !dead;
    list.backend->shared_connections.fetch_sub(1, std::memory_order_relaxed);
    entry = list.shared.erase(entry);  // its PooledConnection closes it
  }
  return closed_one;
}

template <class Connection>
auto BasicConnectionPool<Connection>::lend_shared(Backend& backend) -> PooledConnection {
  auto it = idle_.find(&backend);
  if (it == idle_.end() || closed_) return {};
  auto& list = it->second;
  close_shared(list, [](const Shared&) { return false; });  // the dead ones
  Shared* chosen = least_loaded(list);
  if (!chosen) return {};
  pool_detail::note_lease(chosen->connection.connection(), true);
  return PooledConnection::lease(chosen->connection.shared(), chosen->connection.backend_shared());
}

template <class Connection>
void BasicConnectionPool<Connection>::give_back_lent(PooledConnection lease) {
  return_lease(std::move(lease), std::nullopt);
}

template <class Connection>
auto BasicConnectionPool<Connection>::borrow_oldest(Backend& backend) -> std::optional<Borrowed> {
  auto it = idle_.find(&backend);
  if (it == idle_.end()) return std::nullopt;
  auto& list = it->second;
  while (!list.idle.empty()) {
    auto since = list.idle.front().since;
    PooledConnection connection = leave_idle(list);
    if (connection.connection().is_open() && connection.connection().peer_looks_open()) {
      return Borrowed{std::move(connection), since};
    }
    // Closed by the peer while idle: not the backend's failure; `connection` closes.
  }
  return std::nullopt;
}

template <class Connection>
void BasicConnectionPool<Connection>::put_back(Borrowed borrowed) {
  if (after_use(borrowed.connection) == ConnectionState::idle) {
    push_idle(std::move(borrowed.connection), borrowed.idle_since, true);
  }
}

template <class Connection>
bool BasicConnectionPool<Connection>::evict_one(const System& system) {
  BackendIdle* oldest = nullptr;
  const Shared* oldest_shared = nullptr;
  BackendIdle* shared_list = nullptr;
  auto since = Clock::time_point::max();
  for (auto& [backend, list] : idle_) {
    if (&backend->system != &system) continue;
    if (!list.idle.empty() && list.idle.front().since < since) {
      oldest = &list;
      oldest_shared = nullptr;
      since = list.idle.front().since;
    }
    for (const Shared& entry : list.shared) {  // one with no call counts as idle
      if (pool_detail::calls_on(entry.connection.connection()) != 0 || entry.last_used >= since) continue;
      oldest_shared = &entry;
      shared_list = &list;
      since = entry.last_used;
    }
  }
  if (oldest_shared) {
    const Connection* target = oldest_shared->connection.shared().get();  // entries move as dead ones leave
    return close_shared(*shared_list, [&](const Shared& entry) { return entry.connection.shared().get() == target; },
                        true);
  }
  if (!oldest) return false;
  leave_idle(*oldest);  // and closed
  return true;
}

template <class Connection>
void BasicConnectionPool<Connection>::sweep(std::chrono::milliseconds idle_timeout) {
  auto now = Clock::now();
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    bool removed = it->first->removed.load(std::memory_order_relaxed);
    while (!list.idle.empty() &&
           (removed || now - list.idle.front().since >= idle_timeout ||
            !list.idle.front().connection.connection().is_open())) {
      leave_idle(list);  // and closed
    }
    close_shared(list, [&](const Shared& entry) { return removed || now - entry.last_used >= idle_timeout; });
    // Dead connections further back are found when they are taken.
    it = list.idle.empty() && list.shared.empty() ? idle_.erase(it) : std::next(it);
  }
}

template <class Connection>
void BasicConnectionPool<Connection>::close_all() {
  closed_ = true;  // connections given back later are closed too
  for (auto it = idle_.begin(); it != idle_.end();) {
    auto& list = it->second;
    while (!list.idle.empty()) leave_idle(list);
    // A shared connection still carrying calls closes when its last call
    // gives its lease back (return_lease).
    close_shared(list, [](const Shared&) { return true; });
    it = list.shared.empty() ? idle_.erase(it) : std::next(it);
  }
}

}  // namespace routing::core
