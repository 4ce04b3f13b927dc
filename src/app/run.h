#pragma once
#include "rpc/server.h"

#include <functional>

namespace routing::app {

// Starts `server`, logs "listening on HOST:PORT", and serves until SIGINT or
// SIGTERM; then `before_stop` runs (e.g. deregistration) and the server
// drains gracefully. A second signal exits at once with status 130.
// Returns the process exit code.
int serve_until_signal(rpc::Server& server, const std::function<void()>& before_stop = {});

}  // namespace routing::app
