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

namespace routing::core {

enum class ConnectionState { closed, connecting, in_use, idle };

// Moves one connection of `system` (to `backend`; may be null when neither
// state is counted per backend) from `from` to `to`. Returns the system's
// open connections before the move (the bound's check, taken atomically).
std::size_t transition(System& system, Backend* backend, ConnectionState from, ConnectionState to);

}  // namespace routing::core
