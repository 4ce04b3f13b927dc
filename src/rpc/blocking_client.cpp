#include "rpc/blocking_client.h"

#include "rpc/address.h"
#include "rpc/client_connection.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>

#include <optional>

namespace routing::rpc {

using Clock = std::chrono::steady_clock;

struct BlockingClient::Impl {
  Impl(std::string address, std::chrono::milliseconds timeout, std::size_t max_frame_bytes)
      : address(std::move(address)), timeout(timeout), max_frame_bytes(max_frame_bytes) {}

  std::string address;
  std::chrono::milliseconds timeout;
  std::size_t max_frame_bytes;
  asio::io_context ctx{1};
  std::shared_ptr<ClientConnection> connection;

  // Runs the loop until `done()` or the deadline; true if done.
  template <typename Done>
  bool run_until(Done done, Clock::time_point deadline) {
    while (!done()) {
      if (ctx.stopped()) ctx.restart();
      if (ctx.run_one_until(deadline) == 0 && Clock::now() >= deadline) return done();
    }
    return true;
  }

  void drop_connection() {
    if (!connection) return;
    connection->close();
    connection.reset();
    ctx.restart();
    ctx.poll();  // let the aborted operations finish
  }

  std::optional<Reply> connect(Clock::time_point deadline) {
    if (connection && connection->is_open()) return std::nullopt;
    drop_connection();
    asio::ip::tcp::endpoint endpoint;
    try {
      endpoint = resolve_endpoint(address);
    } catch (const std::exception& e) {
      return Reply::error(Status::invalid_argument, e.what());
    }
    connection = ClientConnection::create(ctx.get_executor(), max_frame_bytes);
    std::optional<error_code> result;
    asio::co_spawn(ctx, connection->connect(endpoint),
                   [&](std::exception_ptr, error_code ec) { result = ec; });
    if (!run_until([&] { return result.has_value(); }, deadline)) {
      drop_connection();
      return Reply::error(Status::deadline_exceeded, "connect to " + address + " timed out");
    }
    if (*result) {
      drop_connection();
      return Reply::error(Status::unavailable, "connect to " + address + " failed: " + result->message());
    }
    return std::nullopt;
  }
};

BlockingClient::BlockingClient(std::string address, std::chrono::milliseconds timeout,
                               std::size_t max_frame_bytes)
    : impl_(std::make_unique<Impl>(std::move(address), timeout, max_frame_bytes)) {}

BlockingClient::~BlockingClient() { close(); }

void BlockingClient::close() { impl_->drop_connection(); }

Reply BlockingClient::call(std::uint32_t procedure, std::string_view payload) {
  auto replies = call_pipelined({{procedure, std::string(payload)}});
  return std::move(replies.front());
}

std::vector<Reply> BlockingClient::call_pipelined(
    const std::vector<std::pair<std::uint32_t, std::string>>& requests) {
  auto deadline = Clock::now() + impl_->timeout;
  std::vector<std::optional<Reply>> answers(requests.size());
  std::vector<Reply> replies;
  if (auto failure = impl_->connect(deadline)) {
    replies.assign(requests.size(), *failure);
    return replies;
  }
  std::size_t done = 0;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    impl_->connection->async_call(requests[i].first, requests[i].second,
                                  [&answers, &done, i](Reply reply) {
                                    answers[i] = std::move(reply);
                                    ++done;
                                  });
  }
  bool finished = impl_->run_until([&] { return done == requests.size(); }, deadline);
  std::vector<bool> arrived(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) arrived[i] = answers[i].has_value();
  if (!finished) impl_->drop_connection();  // completes the rest, as unavailable
  replies.reserve(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    replies.push_back(arrived[i] ? std::move(*answers[i])
                                 : Reply::error(Status::deadline_exceeded, "call timed out"));
  }
  return replies;
}

}  // namespace routing::rpc
