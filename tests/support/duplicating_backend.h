#pragma once
// A misbehaving line-protocol backend for tests: it echoes every request
// (`0:<payload>`) and answers pings, but sends every `dup_every`-th answer a
// second time `delay` later, as a buggy server or a replaying middlebox
// would. On its own loop thread; loopback only.
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include <deque>
#include <memory>
#include <string>
#include <thread>

namespace routing::test {

class DuplicatingBackend {
 public:
  DuplicatingBackend(int dup_every, std::chrono::milliseconds delay)
      : dup_every_(dup_every), delay_(delay), acceptor_(ctx_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    boost::asio::co_spawn(ctx_, accept(), boost::asio::detached);
    thread_ = std::thread([this] { ctx_.run(); });
  }
  ~DuplicatingBackend() {
    ctx_.stop();
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }

 private:
  // One connection's writes, in order (an answer and a delayed copy never interleave).
  struct Connection {
    explicit Connection(boost::asio::ip::tcp::socket s) : socket(std::move(s)) {}
    boost::asio::ip::tcp::socket socket;
    std::deque<std::string> queued;
    bool writing = false;
    void write(std::shared_ptr<Connection> self, std::string frame) {
      queued.push_back(std::move(frame));
      if (writing) return;
      writing = true;
      flush(std::move(self));
    }
    void flush(std::shared_ptr<Connection> self) {
      if (queued.empty()) {
        writing = false;
        return;
      }
      auto frame = std::make_shared<std::string>(std::move(queued.front()));
      queued.pop_front();
      boost::asio::async_write(socket, boost::asio::buffer(*frame),
                               [self, frame](boost::system::error_code ec, std::size_t) {
                                 if (!ec) self->flush(self);
                               });
    }
  };

  boost::asio::awaitable<void> accept() {
    for (;;) {
      auto socket = co_await acceptor_.async_accept(boost::asio::use_awaitable);
      socket.set_option(boost::asio::ip::tcp::no_delay(true));
      boost::asio::co_spawn(ctx_, serve(std::make_shared<Connection>(std::move(socket))), boost::asio::detached);
    }
  }

  boost::asio::awaitable<void> serve(std::shared_ptr<Connection> connection) {
    std::string buffer;
    for (;;) {
      std::size_t n = co_await boost::asio::async_read_until(connection->socket, boost::asio::dynamic_buffer(buffer),
                                                             '\n', boost::asio::use_awaitable);
      std::string line = buffer.substr(0, n - 1);
      buffer.erase(0, n);
      auto colon = line.find(':');
      std::string answer = line.substr(0, colon) == "0" ? "0:pong\n" : "0:" + line.substr(colon + 1) + "\n";
      connection->write(connection, answer);
      if (line.substr(0, colon) != "0" && ++answered_ % dup_every_ == 0) {
        auto timer = std::make_shared<boost::asio::steady_timer>(ctx_, delay_);
        timer->async_wait([connection, timer, answer](boost::system::error_code ec) {
          if (!ec) connection->write(connection, answer);
        });
      }
    }
  }

  int dup_every_;
  std::chrono::milliseconds delay_;
  long answered_ = 0;
  boost::asio::io_context ctx_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
};

}  // namespace routing::test
