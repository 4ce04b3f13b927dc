#include "rpc/tls/tls_context.h"

#include "rpc/tls/tls_errors.h"
#include "rpc/tls/tls_session.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <arpa/inet.h>

#include <ctime>
#include <stdexcept>

namespace routing::rpc::tls {
namespace {

bool is_ip_literal(const std::string& host) {
  unsigned char address[16];
  return inet_pton(AF_INET, host.c_str(), address) == 1 || inet_pton(AF_INET6, host.c_str(), address) == 1;
}

[[noreturn]] void fail(const std::string& what, const std::string& file) {
  std::string reason = last_error();
  throw std::runtime_error(what + " '" + file + "': " + (reason.empty() ? "unreadable" : reason));
}

SSL_CTX* new_context(Context::Role role) {
  SSL_CTX* ctx = SSL_CTX_new(role == Context::Role::server ? TLS_server_method() : TLS_client_method());
  if (ctx == nullptr) throw std::runtime_error("TLS: cannot make a context: " + last_error());
  SSL_CTX_set_min_proto_version(ctx, TLS1_3_VERSION);
  SSL_CTX_set_options(ctx, SSL_OP_NO_RENEGOTIATION);
  // Writes hand over what the socket takes (a partial write is progress,
  // and the rest is retried from wherever the buffer has moved); reads pull
  // what is there in one recv, not a record header first.
  SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
  SSL_CTX_set_read_ahead(ctx, 1);
  return ctx;
}

void use_certificate(SSL_CTX* ctx, const std::string& cert, const std::string& key) {
  clear_errors();
  if (SSL_CTX_use_certificate_chain_file(ctx, cert.c_str()) != 1) fail("TLS: cannot load the certificate", cert);
  if (SSL_CTX_use_PrivateKey_file(ctx, key.c_str(), SSL_FILETYPE_PEM) != 1) {
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) {
      clear_errors();
      throw std::runtime_error("TLS: the key '" + key + "' does not match the certificate '" + cert + "'");
    }
    fail("TLS: cannot load the key", key);
  }
  if (SSL_CTX_check_private_key(ctx) != 1) fail("TLS: the key does not match the certificate", key);
}

void trust(SSL_CTX* ctx, const std::string& ca) {
  clear_errors();
  if (SSL_CTX_load_verify_locations(ctx, ca.c_str(), nullptr) != 1) fail("TLS: cannot load the CA", ca);
}

std::chrono::system_clock::time_point expiry_of(SSL_CTX* ctx) {
  X509* cert = SSL_CTX_get0_certificate(ctx);
  if (cert == nullptr) return std::chrono::system_clock::time_point::max();
  std::tm when{};
  if (ASN1_TIME_to_tm(X509_get0_notAfter(cert), &when) != 1) return std::chrono::system_clock::time_point::max();
  return std::chrono::system_clock::from_time_t(timegm(&when));
}

}  // namespace

std::shared_ptr<const Context> Context::server(const ServerFiles& files) {
  std::shared_ptr<Context> context(new Context(new_context(Role::server), Role::server));
  SSL_CTX* ctx = context->ctx_;
  use_certificate(ctx, files.cert, files.key);
  // Resumed sessions must be tied to this service, or OpenSSL refuses to
  // resume them once client certificates are verified.
  static const unsigned char id[] = "routing";
  SSL_CTX_set_session_id_context(ctx, id, sizeof(id) - 1);
  SSL_CTX_set_num_tickets(ctx, 1);  // one reconnect's worth per handshake
  if (!files.client_ca.empty()) {
    trust(ctx, files.client_ca);
    STACK_OF(X509_NAME)* names = SSL_load_client_CA_file(files.client_ca.c_str());
    if (names != nullptr) SSL_CTX_set_client_CA_list(ctx, names);
    SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, nullptr);
  }
  context->expiry_ = expiry_of(ctx);
  return context;
}

std::shared_ptr<const Context> Context::client(const ClientFiles& files) {
  std::shared_ptr<Context> context(new Context(new_context(Role::client), Role::client));
  SSL_CTX* ctx = context->ctx_;
  trust(ctx, files.ca);
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, nullptr);
  if (!files.cert.empty() || !files.key.empty()) {
    if (files.cert.empty() || files.key.empty()) {
      throw std::runtime_error("TLS: a client certificate needs both a certificate and a key file");
    }
    use_certificate(ctx, files.cert, files.key);
  }
  context->server_name_ = files.server_name;
  // Sessions the servers hand out (TLS 1.3 tickets) are kept per server by
  // the Session that received them (tls_session.cpp), not in OpenSSL's cache.
  SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_CLIENT | SSL_SESS_CACHE_NO_INTERNAL_STORE);
  SSL_CTX_sess_set_new_cb(ctx, keep_new_session);
  context->expiry_ = expiry_of(ctx);
  return context;
}

Context::~Context() {
  for (auto& [server, session] : sessions_) SSL_SESSION_free(session);
  SSL_CTX_free(ctx_);
}

SSL_SESSION* Context::take_session(const std::string& server) const {
  std::lock_guard lock(sessions_mutex_);
  auto found = sessions_.find(server);
  if (found == sessions_.end()) return nullptr;
  SSL_SESSION_up_ref(found->second);
  return found->second;
}

void Context::keep_session(const std::string& server, SSL_SESSION* session) const {
  constexpr std::size_t max_servers = 10000;  // a router with more backends resumes only to the first
  std::lock_guard lock(sessions_mutex_);
  auto [it, inserted] = sessions_.try_emplace(server, session);
  if (!inserted) {
    SSL_SESSION_free(it->second);
    it->second = session;
  } else if (sessions_.size() > max_servers) {
    sessions_.erase(it);
    SSL_SESSION_free(session);
  }
}

void Context::expect_server_name(SSL* ssl, const std::string& host) const {
  const std::string& name = server_name_.empty() ? host : server_name_;
  if (name.empty()) return;
  if (is_ip_literal(name)) {
    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(ssl), name.c_str());
  } else {
    SSL_set_tlsext_host_name(ssl, name.c_str());
    SSL_set1_host(ssl, name.c_str());
  }
}

}  // namespace routing::rpc::tls
