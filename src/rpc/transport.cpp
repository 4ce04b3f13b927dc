#include "rpc/transport.h"

#include <cerrno>
#include <sys/socket.h>

namespace routing::rpc {

namespace transport_detail {

error_code error_of(tls::Io io) {
  if (io == tls::Io::closed) return asio::error::eof;
  return asio::error::connection_reset;  // a TLS failure: the stream cannot go on
}

}  // namespace transport_detail

std::size_t Transport::send_now(std::string_view data, error_code& ec) {
  if (!tls_) return try_send_now(socket_, data, ec);
  ec = {};
  std::size_t sent = 0;
  while (sent < data.size()) {
    tls::IoResult result = tls_->write(data.data() + sent, data.size() - sent);
    if (result.io == tls::Io::done) {
      sent += result.bytes;
      continue;
    }
    if (result.io != tls::Io::want_write && result.io != tls::Io::want_read) {
      ec = transport_detail::error_of(result.io);
    }
    break;
  }
  return sent;
}

void Transport::use_tls(std::unique_ptr<tls::Session> session) {
  tls_ = std::move(session);
  if (tls_) raw_.resize(16 * 1024);  // a full record (kept per connection: see docs/security.md)
}

bool Transport::peer_looks_open() {
  if (tls_) {
    // What was fed: OpenSSL consumes what is protocol (a session ticket, a
    // close) and tells whether application bytes wait. Bytes not yet read
    // from the socket are looked at as on a plain connection (the pending
    // read takes them within a turn of the loop; a ticket then costs at most
    // one needless reconnect).
    tls::IoResult result = tls_->peek();
    if (result.io != tls::Io::want_read && result.io != tls::Io::want_write) return false;
  }
  char byte;
  ssize_t n = ::recv(socket_.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)) return true;
  return false;  // 0: the peer closed; > 0: stray bytes; < 0: an error
}

void Transport::shutdown_send(error_code& ec) {
  if (tls_) tls_->shutdown();
  socket_.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
}

}  // namespace routing::rpc
