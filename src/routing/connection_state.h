#pragma once
// The states of a router's connection to a backend, and the one function
// that moves a connection between them, keeping the counters that the
// bound (pool_size) and the figures read:
//
//   closed ──make room──▶ connecting ──connected──▶ in_use ◀──take── idle
//     ▲                      │ failed                 │ give back ──▶ idle
//     └──────────────────────┴────────────────────────┴─ closed ◀── evict, sweep,
//                                                                    dead when taken
// A connection in use whose backend left discovery, or that came back after
// the pool closed or over the bound, is draining: it finishes its call and
// is closed when given back instead of pooled (BasicConnectionPool::after_use).
//
//   counted in                      connecting  in_use  idle
//   System::open_connections            x          x      x
//   Backend::open_connections                      x      x
//   Backend::idle_connections                             x
#include "routing/backend.h"
#include "routing/system.h"

namespace routing::core {

enum class ConnectionState { closed, connecting, in_use, idle };

namespace connection_state_detail {

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
inline std::size_t adjust(std::atomic<std::size_t>& counter, int delta) {
  if (delta > 0) return counter.fetch_add(1, std::memory_order_relaxed);
  if (delta < 0) return counter.fetch_sub(1, std::memory_order_relaxed);
  return counter.load(std::memory_order_relaxed);
}

}  // namespace connection_state_detail

// Moves one connection of `system` (to `backend`; may be null when neither
// state is counted per backend) from `from` to `to`. Returns the system's
// open connections before the move (the bound's check, taken atomically).
// Inline: every routed call makes two transitions (idle -> in use -> idle).
inline std::size_t transition(System& system, Backend* backend, ConnectionState from, ConnectionState to) {
  using namespace connection_state_detail;
  auto before = counted(from);
  auto after = counted(to);
  auto open = adjust(system.open_connections, after.system_open - before.system_open);
  if (backend == nullptr) return open;
  adjust(backend->open_connections, after.backend_open - before.backend_open);
  adjust(backend->idle_connections, after.idle - before.idle);
  return open;
}

}  // namespace routing::core
