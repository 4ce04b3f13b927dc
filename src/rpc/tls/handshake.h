#pragma once
// A TLS handshake on a connected socket, bounded in time: a peer that stalls
// mid-handshake (or speaks no TLS and waits) is let go at the deadline
// without holding anything but its socket.
#include "rpc/asio_fwd.h"
#include "rpc/tls/tls_session.h"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <string>

namespace routing::rpc::tls {

// Empty when the handshake completed; else why it failed.
asio::awaitable<std::string> async_handshake(asio::ip::tcp::socket& socket, Session& session,
                                             std::chrono::steady_clock::time_point deadline);

}  // namespace routing::rpc::tls
