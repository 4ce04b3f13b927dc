#pragma once
// A connection's byte stream: a TCP socket, plain or TLS (rpc/tls/). The
// server's and the client's connections read and write only through it, so
// both forms keep one shape: hand bytes over at once (send_now), write the
// rest asynchronously, read one batch at a time. Plain reads skip the recv
// bound to find nothing (drained_read.h), and so do TLS reads: the
// ciphertext is read the same way and fed to OpenSSL.
#include "rpc/drained_read.h"
#include "rpc/send_now.h"
#include "rpc/tls/tls_session.h"

#include <boost/asio/compose.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <memory>
#include <vector>
#include <string_view>

namespace routing::rpc {

namespace transport_detail {

error_code error_of(tls::Io io);

// One TLS read: decrypts what was fed already, else reads the socket
// through the DrainedReader (one recv per batch, as a plain read), feeds
// OpenSSL and decrypts; returns what one or more records hold (up to the
// space offered). Never completes inside the initiating call.
struct TlsRead {
  tls::Session* session;
  DrainedReader* reader;
  asio::ip::tcp::socket* socket;
  std::vector<char>* raw;  // the connection's buffer for ciphertext
  asio::mutable_buffer space;
  enum class Stage { start, decrypt, raw_read } stage = Stage::start;

  template <class Self>
  void operator()(Self& self, error_code ec = {}, std::size_t bytes = 0) {
    if (stage == Stage::start) {
      if (session->has_buffered()) {
        stage = Stage::decrypt;
        return asio::post(socket->get_executor(), std::move(self));
      }
      return read_raw(self);
    }
    if (stage == Stage::raw_read) {
      if (ec == asio::error::eof) {
        session->feed_end();  // what was fed before the end is still returned
      } else if (ec) {
        return self.complete(ec, 0);
      } else {
        session->feed(raw->data(), bytes);
      }
    } else if (ec) {
      return self.complete(ec, 0);
    }
    auto* data = static_cast<char*>(space.data());
    std::size_t total = 0;
    tls::IoResult result{tls::Io::done};
    while (total < space.size()) {
      result = session->read(data + total, space.size() - total);
      if (result.io != tls::Io::done) break;
      total += result.bytes;
    }
    if (total != 0) return self.complete(error_code{}, total);  // a failure shows at the next read
    if (result.io == tls::Io::want_read) return read_raw(self);
    if (result.io == tls::Io::want_write) {  // OpenSSL must answer the peer first (e.g. a key update)
      stage = Stage::decrypt;
      return socket->async_wait(asio::socket_base::wait_write, std::move(self));
    }
    self.complete(error_of(result.io), 0);
  }

  template <class Self>
  void read_raw(Self& self) {
    stage = Stage::raw_read;
    reader->async_read_some(asio::buffer(raw->data(), raw->size()), std::move(self));
  }
};

// Writes all of `data` through TLS, waiting for the socket as OpenSSL asks.
// Starts with a wait: it follows a send_now that could not hand everything over.
struct TlsWrite {
  tls::Session* session;
  asio::ip::tcp::socket* socket;
  std::string_view data;
  std::size_t written = 0;
  bool started = false;

  template <class Self>
  void operator()(Self& self, error_code ec = {}) {
    if (!started) {
      started = true;
      return socket->async_wait(asio::socket_base::wait_write, std::move(self));
    }
    if (ec) return self.complete(ec, written);
    while (written < data.size()) {
      tls::IoResult result = session->write(data.data() + written, data.size() - written);
      if (result.io == tls::Io::done) {
        written += result.bytes;
      } else if (result.io == tls::Io::want_write) {
        return socket->async_wait(asio::socket_base::wait_write, std::move(self));
      } else if (result.io == tls::Io::want_read) {
        return socket->async_wait(asio::socket_base::wait_read, std::move(self));
      } else {
        return self.complete(error_of(result.io), written);
      }
    }
    self.complete(error_code{}, written);
  }
};

}  // namespace transport_detail

class Transport {
 public:
  // `tls`: a session (reading what it is fed) whose handshake is done, or
  // null for plain TCP.
  explicit Transport(asio::ip::tcp::socket socket, std::unique_ptr<tls::Session> tls = nullptr)
      : socket_(std::move(socket)) {
    use_tls(std::move(tls));
  }
  Transport(const Transport&) = delete;
  Transport& operator=(const Transport&) = delete;

  asio::ip::tcp::socket& socket() noexcept { return socket_; }
  tls::Session* tls() const noexcept { return tls_.get(); }
  void use_tls(std::unique_ptr<tls::Session> session);

  // Hands over as much of `data` as the socket takes now (see send_now.h).
  std::size_t send_now(std::string_view data, error_code& ec);

  // Writes all of `data` (which must stay put until completion):
  // handler(error_code, bytes written).
  template <class Handler>
  void async_write(std::string_view data, Handler&& handler) {
    if (!tls_) return asio::async_write(socket_, asio::buffer(data), std::forward<Handler>(handler));
    asio::async_compose<Handler, void(error_code, std::size_t)>(
        transport_detail::TlsWrite{tls_.get(), &socket_, data}, handler, socket_);
  }

  // One read of what is there: handler(error_code, bytes); eof when the
  // peer closed.
  template <class Handler>
  void async_read_some(asio::mutable_buffer space, Handler&& handler) {
    if (!tls_) return reader_.async_read_some(space, std::forward<Handler>(handler));
    asio::async_compose<Handler, void(error_code, std::size_t)>(
        transport_detail::TlsRead{tls_.get(), &reader_, &socket_, &raw_, space}, handler, socket_);
  }

  // Whether nothing shows the peer closed or sent bytes nobody asked for
  // (checked before a pooled connection is reused; never waits).
  bool peer_looks_open();

  // No more bytes from this side: TLS close_notify, then the TCP FIN.
  void shutdown_send(error_code& ec);

  // recv calls of plain reads so far (drained_read.h).
  std::uint64_t read_attempts() const noexcept { return reader_.attempts(); }

 private:
  asio::ip::tcp::socket socket_;
  DrainedReader reader_{socket_};  // reads that skip the recv bound to find nothing
  std::unique_ptr<tls::Session> tls_;
  std::vector<char> raw_;  // TLS: ciphertext as read, before it is fed to OpenSSL
};

}  // namespace routing::rpc
