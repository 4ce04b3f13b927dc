#include "rpc/timed_call.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

namespace routing::rpc {

asio::awaitable<error_code> connect_within(std::shared_ptr<ClientConnection> connection,
                                           asio::ip::tcp::endpoint endpoint,
                                           std::chrono::steady_clock::duration timeout) {
  struct State {
    bool done = false;  // the connect finished first: the expiry (maybe already queued) must not close it
    bool timed_out = false;
  };
  auto state = std::make_shared<State>();
  asio::steady_timer timer(co_await asio::this_coro::executor, timeout);
  timer.async_wait([connection, state](error_code ec) {
    if (ec || state->done) return;
    state->timed_out = true;
    error_code ignored;
    connection->socket().close(ignored);  // aborts the connect
  });
  error_code ec = co_await connection->connect(endpoint);
  state->done = true;
  timer.cancel();
  co_return state->timed_out ? asio::error::timed_out : ec;
}

asio::awaitable<Reply> call_within(std::shared_ptr<ClientConnection> connection,
                                   std::uint32_t procedure, std::string_view payload,
                                   std::chrono::steady_clock::duration timeout) {
  co_return co_await connection->async_call(procedure, payload, std::chrono::steady_clock::now() + timeout,
                                            asio::use_awaitable);
}

}  // namespace routing::rpc
