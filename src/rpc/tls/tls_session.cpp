#include "rpc/tls/tls_session.h"

#include "rpc/tls/tls_errors.h"

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <sys/socket.h>

#include <cerrno>
#include <climits>
#include <algorithm>
#include <cstdint>
#include <cstring>
#include <stdexcept>

namespace routing::rpc::tls {
namespace {

// OpenSSL's own socket BIO writes with write(2): a peer gone raises SIGPIPE,
// which kills a program that has not ignored it (a library must not ask
// that of its users). This one sends with MSG_NOSIGNAL, as the plain
// connections do.
int descriptor_of(BIO* bio) { return static_cast<int>(reinterpret_cast<std::intptr_t>(BIO_get_data(bio))); }

bool would_block() { return errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR; }

int bio_write(BIO* bio, const char* data, int size) {
  BIO_clear_retry_flags(bio);
  ssize_t sent = ::send(descriptor_of(bio), data, static_cast<std::size_t>(size), MSG_NOSIGNAL);
  if (sent < 0 && would_block()) BIO_set_retry_write(bio);
  return static_cast<int>(sent);
}

int bio_read(BIO* bio, char* data, int size) {
  BIO_clear_retry_flags(bio);
  ssize_t got = ::recv(descriptor_of(bio), data, static_cast<std::size_t>(size), 0);
  if (got < 0 && would_block()) BIO_set_retry_read(bio);
  return static_cast<int>(got);
}

long bio_ctrl(BIO*, int command, long, void*) { return command == BIO_CTRL_FLUSH ? 1 : 0; }

int bio_create(BIO* bio) {
  BIO_set_init(bio, 1);
  return 1;
}

BIO_METHOD* socket_method() {
  static BIO_METHOD* method = [] {
    BIO_METHOD* m = BIO_meth_new(BIO_get_new_index() | BIO_TYPE_SOURCE_SINK | BIO_TYPE_DESCRIPTOR, "routing socket");
    BIO_meth_set_write(m, bio_write);
    BIO_meth_set_read(m, bio_read);
    BIO_meth_set_ctrl(m, bio_ctrl);
    BIO_meth_set_create(m, bio_create);
    return m;
  }();
  return method;
}

std::string text_of(const ASN1_STRING* value) {
  const unsigned char* data = ASN1_STRING_get0_data(value);
  return std::string(reinterpret_cast<const char*>(data), static_cast<std::size_t>(ASN1_STRING_length(value)));
}

std::string first_alt_name(X509* cert, int type) {
  auto* names = static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr) return {};
  std::string found;
  for (int i = 0; i < sk_GENERAL_NAME_num(names) && found.empty(); ++i) {
    const GENERAL_NAME* name = sk_GENERAL_NAME_value(names, i);
    if (name->type == type) found = text_of(type == GEN_URI ? name->d.uniformResourceIdentifier : name->d.dNSName);
  }
  GENERAL_NAMES_free(names);
  return found;
}

std::string common_name(X509* cert) {
  X509_NAME* subject = X509_get_subject_name(cert);
  int index = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (index < 0) return {};
  return text_of(X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, index)));
}

}  // namespace

std::string identity_of(const void* x509_certificate) {
  auto* cert = const_cast<X509*>(static_cast<const X509*>(x509_certificate));
  if (cert == nullptr) return {};
  if (std::string uri = first_alt_name(cert, GEN_URI); !uri.empty()) return uri;
  if (std::string dns = first_alt_name(cert, GEN_DNS); !dns.empty()) return dns;
  return common_name(cert);
}

// The Session an SSL belongs to (for the new-session callback).
int session_index() {
  static const int index = SSL_get_ex_new_index(0, nullptr, nullptr, nullptr, nullptr);
  return index;
}

int keep_new_session(SSL* ssl, SSL_SESSION* session) {
  auto* owner = static_cast<Session*>(SSL_get_ex_data(ssl, session_index()));
  if (owner == nullptr || owner->resume_key_.empty()) return 0;  // OpenSSL frees it
  // A copy: OpenSSL marks a connection's own session not resumable when the
  // connection is freed without a close_notify, as a pooled one may be.
  SSL_SESSION* copy = SSL_SESSION_dup(session);
  if (copy != nullptr) owner->context_->keep_session(owner->resume_key_, copy);
  return 0;  // OpenSSL keeps (and frees) its own
}

Session::Session(std::shared_ptr<const Context> context, int descriptor, std::string_view host, Reads reads,
                 std::string resume_key)
    : context_(std::move(context)), ssl_(SSL_new(context_->native())), resume_key_(std::move(resume_key)) {
  if (ssl_ == nullptr) throw std::runtime_error("TLS: cannot make a session: " + last_error());
  BIO* bio = BIO_new(socket_method());
  if (bio == nullptr) {
    SSL_free(ssl_);
    throw std::runtime_error("TLS: cannot make a socket BIO: " + last_error());
  }
  BIO_set_data(bio, reinterpret_cast<void*>(static_cast<std::intptr_t>(descriptor)));
  if (reads == Reads::fed) {
    fed_ = BIO_new(BIO_s_mem());
    if (fed_ == nullptr) {
      BIO_free(bio);
      SSL_free(ssl_);
      throw std::runtime_error("TLS: cannot make a memory BIO: " + last_error());
    }
    BIO_set_mem_eof_return(fed_, -1);  // empty means "more to come" (want_read) until feed_end()
    SSL_set_bio(ssl_, fed_, bio);
  } else {
    SSL_set_bio(ssl_, bio, bio);  // one reference, for both directions
  }
  // A peer that closes without close_notify has closed: frames carry their
  // own ends, so a cut one is never taken for a whole one.
  SSL_set_options(ssl_, SSL_OP_IGNORE_UNEXPECTED_EOF);
  if (context_->role() == Context::Role::server) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  if (!resume_key_.empty()) {
    SSL_set_ex_data(ssl_, session_index(), this);
    if (SSL_SESSION* offered = context_->take_session(resume_key_)) {
      SSL_set_session(ssl_, offered);  // takes its own reference
      SSL_SESSION_free(offered);
    }
  }
  context_->expect_server_name(ssl_, std::string(host));
}

Session::~Session() { SSL_free(ssl_); }

IoResult Session::outcome(int ret) {
  if (ret > 0) return {Io::done, static_cast<std::size_t>(ret)};
  switch (SSL_get_error(ssl_, ret)) {
    case SSL_ERROR_WANT_READ:
      return {Io::want_read};
    case SSL_ERROR_WANT_WRITE:
      return {Io::want_write};
    case SSL_ERROR_ZERO_RETURN:
      return {Io::closed};
    case SSL_ERROR_SYSCALL:
      if (ERR_peek_error() == 0) {
        failure_ = errno == 0 ? "connection closed" : std::strerror(errno);
        return {errno == 0 ? Io::closed : Io::failed};
      }
      [[fallthrough]];
    default: {
      failure_ = last_error();
      long verify = SSL_get_verify_result(ssl_);
      if (verify != X509_V_OK) {
        failure_ = std::string("certificate verify failed: ") + X509_verify_cert_error_string(verify);
      }
      if (failure_.empty()) failure_ = "TLS failure";
      return {Io::failed};
    }
  }
}

IoResult Session::handshake() {
  ERR_clear_error();
  errno = 0;
  return outcome(SSL_do_handshake(ssl_));
}

IoResult Session::read(void* data, std::size_t size) {
  if (ERR_peek_error() != 0) ERR_clear_error();
  errno = 0;
  return outcome(SSL_read(ssl_, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX))));
}

IoResult Session::write(const void* data, std::size_t size) {
  if (size == 0) return {Io::done, 0};
  if (ERR_peek_error() != 0) ERR_clear_error();
  errno = 0;
  return outcome(SSL_write(ssl_, data, static_cast<int>(std::min<std::size_t>(size, INT_MAX))));
}

bool Session::has_buffered() const {
  return SSL_has_pending(ssl_) == 1 || (fed_ != nullptr && BIO_ctrl_pending(fed_) > 0);
}

void Session::feed(const char* data, std::size_t size) {
  while (size > 0) {
    int chunk = static_cast<int>(std::min<std::size_t>(size, INT_MAX));
    int written = BIO_write(fed_, data, chunk);
    if (written <= 0) break;  // out of memory: what is lost shows as a failure at the next read
    data += written;
    size -= static_cast<std::size_t>(written);
  }
}

void Session::feed_end() { BIO_set_mem_eof_return(fed_, 0); }

IoResult Session::peek() {
  char byte;
  if (ERR_peek_error() != 0) ERR_clear_error();
  errno = 0;
  return outcome(SSL_peek(ssl_, &byte, 1));
}

void Session::shutdown() {
  if (SSL_is_init_finished(ssl_) != 1) return;
  SSL_shutdown(ssl_);
  ERR_clear_error();
}

std::string Session::peer_identity() const {
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr || SSL_get_verify_result(ssl_) != X509_V_OK) return {};
  return identity_of(cert);
}

bool Session::resumed() const { return SSL_session_reused(ssl_) == 1; }
bool Session::handshake_done() const { return SSL_is_init_finished(ssl_) == 1; }

}  // namespace routing::rpc::tls
