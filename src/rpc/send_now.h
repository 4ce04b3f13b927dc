#pragma once
// Hands bytes to a non-blocking socket at once, as far as it takes them.
// Connections write this way first and start an asynchronous write only for
// what is left: in the usual case (room in the socket buffer) a request or an
// answer then costs one send and no trip through the event loop.
#include "rpc/asio_fwd.h"

#include <boost/asio/ip/tcp.hpp>

#include <string_view>

namespace routing::rpc {

// Bytes sent; "would block" is not an error (0 sent). The socket must be in
// non-blocking mode (socket.non_blocking(true)).
inline std::size_t try_send_now(asio::ip::tcp::socket& socket, std::string_view data, error_code& ec) {
  ec = {};
  if (data.empty()) return 0;
  std::size_t sent = socket.write_some(asio::buffer(data.data(), data.size()), ec);
  if (ec == asio::error::would_block || ec == asio::error::try_again) {
    ec = {};
    return 0;
  }
  return ec ? 0 : sent;
}

}  // namespace routing::rpc
