#include "routing/connection_state.h"

#include "routing/system.h"

namespace routing::core {

namespace {

struct Counted {
  int system_open;
  int backend_open;
  int idle;
};

constexpr Counted counted(ConnectionState state) {
  switch (state) {
    case ConnectionState::connecting: return {1, 0, 0};
    case ConnectionState::in_use: return {1, 1, 0};
    case ConnectionState::idle: return {1, 1, 1};
    case ConnectionState::closed: break;
  }
  return {0, 0, 0};
}

// The counter's value before the change.
std::size_t adjust(std::atomic<std::size_t>& counter, int delta) {
  if (delta > 0) return counter.fetch_add(1, std::memory_order_relaxed);
  if (delta < 0) return counter.fetch_sub(1, std::memory_order_relaxed);
  return counter.load(std::memory_order_relaxed);
}

}  // namespace

std::size_t transition(System& system, Backend* backend, ConnectionState from, ConnectionState to) {
  auto before = counted(from);
  auto after = counted(to);
  auto open = adjust(system.open_connections, after.system_open - before.system_open);
  if (backend == nullptr) return open;
  adjust(backend->open_connections, after.backend_open - before.backend_open);
  adjust(backend->idle_connections, after.idle - before.idle);
  return open;
}

}  // namespace routing::core
