#pragma once
// One request in the book's transport (CONTRACT §12, docs/book.md): a
// connection of its own, "<procedure>:<payload>\n", and for the answer the
// bytes that arrive for it. The transport has no framing: as the book's
// own client does, the answer is what the first read returns (here with
// whatever else is already buffered, so it is not cut at 1024 bytes).
#include <routing/reply.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace routing::book {

struct CallLimits {
  std::chrono::milliseconds timeout{2000};          // the whole exchange
  std::chrono::milliseconds connect_timeout{2000};  // of which connecting
  std::size_t max_answer_bytes = 1 << 20;
};

// How it went: `sent` once the request is out (before: nothing reached the
// server, the call may go elsewhere); `answered` when bytes came back
// (`reply` is status 0 with them). Otherwise `reply` says why: 14 when the
// server cannot be reached or closed without answering (the book's
// services close on a request they cannot read), 4 when the time ran out,
// 8 past max_answer_bytes.
struct Exchange {
  Reply reply;
  bool sent = false;
  bool answered = false;
};

// `label` names the server in messages (its address).
boost::asio::awaitable<Exchange> exchange(boost::asio::any_io_executor executor, boost::asio::ip::tcp::endpoint server,
                                          std::string label, std::uint32_t procedure, std::string payload,
                                          CallLimits limits = {});
// The same to "host:port" (resolved first: a name that does not resolve is 14).
boost::asio::awaitable<Exchange> exchange(boost::asio::any_io_executor executor, std::string address,
                                          std::uint32_t procedure, std::string payload, CallLimits limits = {});

// What the book's services say instead of a status (its clients retry on
// them): "Unknown procedure" is 12, "Operation timed out" 4, "Service not
// available" 14; any other answer is 0.
Status status_of_answer(std::string_view answer);

}  // namespace routing::book
