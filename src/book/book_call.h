#pragma once
// One request in the book's transport (CONTRACT §12, docs/book.md): a
// connection of its own, "<procedure>:<payload>\n", and for the answer the
// bytes that arrive for it. The transport has no framing: the book's own
// client takes one read of at most 1024 bytes; this one takes the first
// read and whatever follows within `settle` (a quiet gap ends the answer),
// so answers longer than one segment arrive whole.
#include <routing/reply.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstdint>
#include <string>

namespace routing::book {

struct CallLimits {
  std::chrono::milliseconds timeout{2000};  // connect, send and the first byte
  std::chrono::milliseconds settle{10};     // quiet after the last byte: the answer is complete
  std::size_t max_answer_bytes = 1 << 20;
};

// Status 0 with the answer; 14 when the server cannot be reached or closed
// without answering (the book's services close on a request they cannot
// read), 4 when nothing came within the timeout, 8 past max_answer_bytes.
boost::asio::awaitable<Reply> call(boost::asio::any_io_executor executor, std::string address,
                                   std::uint32_t procedure, std::string payload, CallLimits limits = {});

}  // namespace routing::book
