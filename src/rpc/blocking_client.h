#pragma once
// A blocking client for tools and tests: each call runs a private event loop
// until the answer arrives or the timeout passes. Not thread-safe: one
// instance per thread.
#include <routing/reply.h>

#include "rpc/codec.h"

#include <chrono>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace routing::rpc {

class BlockingClient {
 public:
  // `address` is "host:port". Nothing is connected until the first call.
  explicit BlockingClient(std::string address,
                          std::chrono::milliseconds timeout = std::chrono::seconds(5),
                          std::size_t max_frame_bytes = default_max_frame_bytes);
  ~BlockingClient();
  BlockingClient(const BlockingClient&) = delete;
  BlockingClient& operator=(const BlockingClient&) = delete;

  // One call. Connection failures answer 14 (unavailable), a timeout 4
  // (deadline exceeded); both close the connection, the next call reconnects.
  Reply call(std::uint32_t procedure, std::string_view payload);

  // Sends every request before reading any answer; answers in request order.
  std::vector<Reply> call_pipelined(
      const std::vector<std::pair<std::uint32_t, std::string>>& requests);

  void close();

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace routing::rpc
