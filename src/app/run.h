#pragma once
#include "rpc/server.h"

#include <functional>

namespace routing::app {

struct ServeHooks {
  std::function<void()> after_start;  // bound, loops running, not yet accepting
  std::function<void()> before_stop;  // not ready from now on: e.g. deregister, wake long polls
  std::function<void()> when_drained; // e.g. stop a router on the server's loops
  // SIGHUP: read the settings again and apply what may change (absent: the
  // signal is logged and changes nothing). Never ends the process.
  std::function<void()> on_reload;
  // SIGUSR1 (log rotation): reopen the program's log files (absent: logged;
  // every other log goes to stderr, which the process manager owns).
  std::function<void()> on_reopen_logs;
};

// Binds `server`, runs `after_start`, accepts and logs "listening on
// HOST:PORT", and serves until SIGINT or SIGTERM; then `before_stop` runs,
// the server goes on serving for ServerOptions::drain_delay, and drains
// gracefully. A second signal exits at once with status 130. SIGHUP runs
// `on_reload`, SIGUSR1 `on_reopen_logs` (docs/operations.md, "Signals").
// Returns the process exit code.
int serve_until_signal(rpc::Server& server, const ServeHooks& hooks = {});

}  // namespace routing::app
