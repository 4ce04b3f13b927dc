#include "rpc/tls/handshake.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>

#include <array>

namespace routing::rpc::tls {

asio::awaitable<std::string> async_handshake(asio::ip::tcp::socket& socket, Session& session,
                                             std::chrono::steady_clock::time_point deadline) {
  using namespace asio::experimental::awaitable_operators;
  asio::steady_timer timer(socket.get_executor(), deadline);
  // A session that reads what it is fed gets the socket's bytes through this. Small:
  // every handshake in progress (a stalled one too) holds one until it ends.
  std::array<char, 4 * 1024> raw;
  for (;;) {
    IoResult step = session.handshake();
    if (step.io == Io::done) co_return std::string();
    if (step.io == Io::closed) co_return std::string("the peer closed the connection during the TLS handshake");
    if (step.io == Io::failed) co_return session.failure();
    if (step.io == Io::want_read && session.reads_fed()) {
      auto ended = co_await (socket.async_read_some(asio::buffer(raw), use_nothrow) || timer.async_wait(use_nothrow));
      if (ended.index() == 1) co_return std::string("TLS handshake timed out");
      auto [ec, bytes] = std::get<0>(ended);
      if (ec == asio::error::eof) {
        session.feed_end();
      } else if (ec) {
        co_return "TLS handshake: " + ec.message();
      } else {
        session.feed(raw.data(), bytes);
      }
      continue;
    }
    auto wait = step.io == Io::want_read ? asio::socket_base::wait_read : asio::socket_base::wait_write;
    auto ended = co_await (socket.async_wait(wait, use_nothrow) || timer.async_wait(use_nothrow));
    if (ended.index() == 1) co_return std::string("TLS handshake timed out");
    if (auto [ec] = std::get<0>(ended); ec) co_return "TLS handshake: " + ec.message();
  }
}

}  // namespace routing::rpc::tls
