#pragma once
// The book's RPC client (CONTRACT §12), byte for byte: a fresh connection,
// "<procedure>:<payload>\n", then one read of at most 1024 bytes, taken as
// the whole answer. Written from the book's rpc/src/client.rs.
#include "support/raw_socket.h"

#include <optional>
#include <string>

namespace routing::test {

// The answer as the book's client reads it ("" when the server closed the
// connection); nullopt when nothing came within `timeout`.
inline std::optional<std::string> book_call(std::uint16_t port, int procedure, const std::string& payload,
                                            std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  RawSocket socket(port, timeout);
  if (!socket.connected()) return std::nullopt;
  socket.send(std::to_string(procedure) + ":" + payload + "\n");
  return socket.read_once(1024);
}

}  // namespace routing::test
