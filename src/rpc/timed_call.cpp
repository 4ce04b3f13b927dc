#include "rpc/timed_call.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace routing::rpc {

asio::awaitable<error_code> connect_within(std::shared_ptr<ClientConnection> connection,
                                           asio::ip::tcp::endpoint endpoint,
                                           std::chrono::steady_clock::duration timeout) {
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  timer.async_wait([connection, timed_out](error_code ec) {
    if (ec) return;
    *timed_out = true;
    error_code ignored;
    connection->socket().close(ignored);  // aborts the connect
  });
  error_code ec = co_await connection->connect(endpoint);
  timer.cancel();
  co_return *timed_out ? asio::error::timed_out : ec;
}

asio::awaitable<Reply> call_within(std::shared_ptr<ClientConnection> connection,
                                   std::uint32_t procedure, std::string_view payload,
                                   std::chrono::steady_clock::duration timeout) {
  auto timed_out = std::make_shared<bool>(false);
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  timer.async_wait([connection, timed_out](error_code ec) {
    if (ec) return;
    *timed_out = true;
    connection->close();  // completes the call (and any pipelined with it)
  });
  Reply reply = co_await connection->async_call(procedure, payload, asio::use_awaitable);
  timer.cancel();
  if (*timed_out) {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(timeout).count();
    co_return Reply::error(Status::deadline_exceeded, "no answer within " + std::to_string(ms) + " ms");
  }
  co_return reply;
}

}  // namespace routing::rpc
