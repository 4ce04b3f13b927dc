#include "routing/connection_pool.h"

namespace routing::core {

template <class Connection>
BasicPooledConnection<Connection>::BasicPooledConnection(std::shared_ptr<Connection> connection,
                                                         std::shared_ptr<Backend> backend)
    : connection_(std::move(connection)), backend_(std::move(backend)) {
  backend_->open_connections.fetch_add(1, std::memory_order_relaxed);
}

template <class Connection>
BasicPooledConnection<Connection>& BasicPooledConnection<Connection>::operator=(
    BasicPooledConnection&& other) noexcept {
  if (this != &other) {
    close();
    connection_ = std::move(other.connection_);
    backend_ = std::move(other.backend_);
  }
  return *this;
}

template <class Connection>
void BasicPooledConnection<Connection>::close() {
  if (!connection_) return;
  connection_->close();
  connection_.reset();
  backend_->open_connections.fetch_sub(1, std::memory_order_relaxed);
  backend_->system.open_connections.fetch_sub(1, std::memory_order_relaxed);
  backend_.reset();
}

template <class Connection>
void BasicConnectionPool<Connection>::pop_front(BackendIdle& list) {
  list.idle.pop_front();
  list.backend->idle_connections.fetch_sub(1, std::memory_order_relaxed);
}

template <class Connection>
BasicPooledConnection<Connection> BasicConnectionPool<Connection>::take(Backend& backend, Clock::time_point now) {
  auto it = idle_.find(&backend);
  if (it == idle_.end()) return {};
  auto& list = it->second;
  while (!list.idle.empty()) {
    bool trusted = now - list.idle.front().since < Connection::trusted_while_idle_for &&
                   list.idle.front().failed_attempts == backend.failed_attempts.load(std::memory_order_relaxed);
    PooledConnection connection = std::move(list.idle.front().connection);
    pop_front(list);
    if (trusted ? connection.connection().is_open() : connection.connection().peer_looks_open()) {
      return connection;
    }
    // Closed by the peer while idle (e.g. the backend restarted): drop it.
  }
  return {};
}

template <class Connection>
void BasicConnectionPool<Connection>::give_back(PooledConnection connection, Clock::time_point now) {
  Backend& backend = connection.backend();
  if (closed_ || !connection.connection().is_open() || backend.removed.load(std::memory_order_relaxed)) return;
  // Over the system's bound (another worker made room by asking us to close an
  // idle connection we did not have): close this one instead of pooling it.
  if (backend.system.open_connections.load(std::memory_order_relaxed) > backend.system.connection_limit()) return;
  auto& list = idle_[&backend];
  if (!list.backend) list.backend = connection.backend_shared();
  list.idle.push_back({std::move(connection), now, backend.failed_attempts.load(std::memory_order_relaxed)});
  backend.idle_connections.fetch_add(1, std::memory_order_relaxed);
}

template <class Connection>
bool BasicConnectionPool<Connection>::evict_one(const System& system) {
  BackendIdle* oldest = nullptr;
  for (auto& [backend, list] : idle_) {
    if (&backend->system != &system || list.idle.empty()) continue;
    if (!oldest || list.idle.front().since < oldest->idle.front().since) oldest = &list;
  }
  if (!oldest) return false;
  pop_front(*oldest);
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
      pop_front(list);
    }
    // Dead connections further back are found when they are taken.
    it = list.idle.empty() ? idle_.erase(it) : std::next(it);
  }
}

template <class Connection>
void BasicConnectionPool<Connection>::close_all() {
  closed_ = true;  // connections given back later are closed too
  for (auto& [backend, list] : idle_) {
    while (!list.idle.empty()) pop_front(list);
  }
  idle_.clear();
}

template class BasicPooledConnection<rpc::ClientConnection>;
template class BasicPooledConnection<rpc::BlockingConnection>;
template class BasicConnectionPool<rpc::ClientConnection>;
template class BasicConnectionPool<rpc::BlockingConnection>;

}  // namespace routing::core
