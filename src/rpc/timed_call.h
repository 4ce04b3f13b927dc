#pragma once
// Time limits around a ClientConnection. When a limit passes the connection
// is closed (on a pipelined connection the late answer could not be told
// apart), and the result says 4 (deadline exceeded). Await these on the
// connection's loop.
#include "rpc/client_connection.h"

#include <chrono>

namespace routing::rpc {

// Connects within `timeout`; a failure is returned as an error code
// (timed_out when the limit passed).
asio::awaitable<error_code> connect_within(std::shared_ptr<ClientConnection> connection,
                                           asio::ip::tcp::endpoint endpoint,
                                           std::chrono::steady_clock::duration timeout);

// One call that completes within `timeout`, else status 4.
asio::awaitable<Reply> call_within(std::shared_ptr<ClientConnection> connection,
                                   std::uint32_t procedure, std::string_view payload,
                                   std::chrono::steady_clock::duration timeout);

}  // namespace routing::rpc
