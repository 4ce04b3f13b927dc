#pragma once
// One TLS connection driven on a socket's own descriptor: OpenSSL reads and
// writes the non-blocking socket itself and says when it must wait for it
// (want_read / want_write). The connections wait with the socket's own
// async_wait (rpc/transport.h), so a TLS connection keeps the plain one's
// shape: hand the bytes over at once, wait for epoll only when the socket is
// full or empty. (Asio's ssl::stream would put memory buffers between
// OpenSSL and the socket, one more copy, and make a synchronous write on a
// non-blocking socket unsafe: see docs/security.md.)
// Use it from one thread at a time (the connection's loop).
#include "rpc/tls/tls_context.h"

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>

typedef struct ssl_st SSL;  // NOLINT: OpenSSL's own declaration
typedef struct bio_st BIO;  // NOLINT: OpenSSL's own declaration

namespace routing::rpc::tls {

enum class Io { done, want_read, want_write, closed, failed };

struct IoResult {
  Io io;
  std::size_t bytes = 0;
};

class Session {
 public:
  // Where OpenSSL gets the bytes it reads: from the socket itself (blocking
  // clients), or only from what the connection feeds it (feed(): the event
  // loop's connections read the socket themselves, one recv per batch, as
  // plain connections do). Writes always go to the socket.
  enum class Reads { from_socket, fed };

  // `host`: a client's peer as addressed (a name or an IP literal), verified
  // against the server's certificate unless the context names another.
  // `resume_key`: a client's server as "host:port": the session that server
  // last gave is offered (Context::take_session), and the ones it gives on
  // this connection are kept for the next (empty: no resumption).
  Session(std::shared_ptr<const Context> context, int descriptor, std::string_view host = {},
          Reads reads = Reads::from_socket, std::string resume_key = {});
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  IoResult handshake();
  IoResult read(void* data, std::size_t size);
  IoResult write(const void* data, std::size_t size);
  // Whether OpenSSL holds bytes read from the socket (or fed) and not yet
  // returned (epoll will not report them again).
  bool has_buffered() const;
  bool reads_fed() const noexcept { return fed_ != nullptr; }
  // Reads::fed: bytes read from the socket, for OpenSSL to decrypt; and the
  // end of the stream (the peer closed).
  void feed(const char* data, std::size_t size);
  void feed_end();
  // Consumes protocol records (session tickets, a close) without returning
  // application bytes: `done` when application bytes wait, want_read when
  // nothing does, closed / failed when the peer has gone.
  IoResult peek();
  // Sends close_notify, best effort (never waits).
  void shutdown();

  // The verified peer's identity (CONTRACT §9: first URI SAN, else first DNS
  // SAN, else subject CN); empty without a peer certificate.
  std::string peer_identity() const;
  // Why the last handshake, read or write failed.
  const std::string& failure() const noexcept { return failure_; }
  bool resumed() const;
  bool handshake_done() const;

 private:
  IoResult outcome(int ret);
  friend int keep_new_session(SSL* ssl, SSL_SESSION* session);

  std::shared_ptr<const Context> context_;
  SSL* ssl_;
  BIO* fed_ = nullptr;
  std::string resume_key_;  // Reads::fed: the memory BIO OpenSSL reads from (owned by ssl_)
  std::string failure_;
};

// OpenSSL's new-session callback (client contexts): hands the session to
// the Context under the Session's resume key.
int keep_new_session(SSL* ssl, SSL_SESSION* session);

// The identity of a certificate (see peer_identity); empty for nullptr.
std::string identity_of(const void* x509_certificate);

}  // namespace routing::rpc::tls
