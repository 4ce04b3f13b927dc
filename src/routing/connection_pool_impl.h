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
BasicPooledConnection<Connection>& BasicPooledConnection<Connection>::operator=(
    BasicPooledConnection&& other) noexcept {
  if (this != &other) {
    close();
    connection_ = std::move(other.connection_);
    backend_ = std::move(other.backend_);
    failures_before_use_ = other.failures_before_use_;
  }
  return *this;
}

template <class Connection>
void BasicPooledConnection<Connection>::close() {
  if (!connection_) return;
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
BasicPooledConnection<Connection> BasicConnectionPool<Connection>::take(Backend& backend, Clock::time_point now) {
  auto it = idle_.find(&backend);
  if (it == idle_.end()) return {};
  auto& list = it->second;
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
  Backend& backend = connection.backend();
  if (closed_ || !connection.connection().is_open() || backend.removed.load(std::memory_order_relaxed)) {
    return ConnectionState::closed;
  }
  if (backend.system.open_connections.load(std::memory_order_relaxed) > backend.system.connection_limit()) {
    return ConnectionState::closed;
  }
  return ConnectionState::idle;
}

template <class Connection>
void BasicConnectionPool<Connection>::give_back(PooledConnection connection, Clock::time_point now) {
  if (after_use(connection) == ConnectionState::idle) push_idle(std::move(connection), now, false);
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
  for (auto& [backend, list] : idle_) {
    if (&backend->system != &system || list.idle.empty()) continue;
    if (!oldest || list.idle.front().since < oldest->idle.front().since) oldest = &list;
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
    // Dead connections further back are found when they are taken.
    it = list.idle.empty() ? idle_.erase(it) : std::next(it);
  }
}

template <class Connection>
void BasicConnectionPool<Connection>::close_all() {
  closed_ = true;  // connections given back later are closed too
  for (auto& [backend, list] : idle_) {
    while (!list.idle.empty()) leave_idle(list);
  }
  idle_.clear();
}

}  // namespace routing::core
