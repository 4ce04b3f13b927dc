#pragma once
// The line-protocol server's settings (its flags: app/common_flags.h).
#include "rpc/codec.h"
#include "rpc/tls/tls_context.h"

#include <chrono>
#include <cstddef>
#include <string>

namespace routing::rpc {

struct ServerOptions {
  std::string listen = "127.0.0.1:0";
  unsigned threads = 1;                     // worker event loops
  std::size_t max_connections = 10000;      // past it: "8:too many connections", close
  std::chrono::milliseconds idle_timeout{60000};   // 0 disables
  // A frame whose first bytes arrived must be complete within this, or the
  // connection gets "4:frame not completed within N ms" and is closed: a
  // client trickling bytes (slowloris) cannot hold a connection forever.
  // 0 disables.
  std::chrono::milliseconds frame_timeout{10000};
  std::size_t max_frame_bytes = default_max_frame_bytes;
  std::chrono::milliseconds drain_timeout{10000};  // graceful stop bound
  // On SIGTERM: keep accepting and serving this long, not ready (/readyz
  // 503), so that load balancers notice before the listener closes.
  std::chrono::milliseconds drain_delay{0};
  // On stop, each connection keeps serving until it has been quiet this long
  // (then it closes); 0 closes idle connections at once. See docs/protocol.md.
  std::chrono::milliseconds drain_quiet{200};
  // Responses waiting to be written past which the connection stops reading:
  // a client that pipelines without reading cannot grow memory without limit.
  std::size_t max_pending_output_bytes = 4 * 1024 * 1024;
  // Tagged calls (CONTRACT §8) one connection may have in flight; past it a
  // new one gets "8#<id>:too many calls in flight on this connection". A
  // call counts until its handler has answered (a cancelled call too).
  std::size_t max_calls_per_connection = 128;
  // Spans of tagged calls that carry a valid traceparent, as JSON lines
  // appended to this file (common/span_log.h); empty: none. `service_name`
  // names this server in them.
  std::string trace_log;
  std::string service_name = "server";
  // False: speak version 1 only, answering a tagged frame as a version-1
  // server does (`3:malformed frame: ...`). For tests and for rolling out
  // version 2 behind a switch; echod's --line-protocol-only.
  bool tagged_frames = true;
  // TLS on this listener (CONTRACT §9): only TLS is served when set, and
  // with a client CA only clients with a certificate it signed.
  tls::ServerFiles tls;
  // A client must complete its TLS handshake within this, or it is let go.
  std::chrono::milliseconds tls_handshake_timeout{10000};
};

}  // namespace routing::rpc
