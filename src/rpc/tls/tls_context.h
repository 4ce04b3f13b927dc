#pragma once
// TLS settings made into OpenSSL contexts (CONTRACT section 9). A context is
// built once from its files and shared by every connection made with it; a
// reload builds a new one (connections keep the context they started with).
// TLS 1.3 only: every peer of the project speaks it, and it has no
// renegotiation to refuse.
#include <chrono>
#include <memory>
#include <mutex>
#include <unordered_map>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;  // NOLINT: OpenSSL's own declaration
typedef struct ssl_session_st SSL_SESSION;  // NOLINT
typedef struct ssl_st SSL;  // NOLINT

namespace routing::rpc::tls {

// A listener's TLS: its certificate chain and key (PEM); with `client_ca`,
// mutual TLS: a client must present a certificate signed by that CA.
struct ServerFiles {
  std::string cert;
  std::string key;
  std::string client_ca;
  bool enabled() const { return !cert.empty(); }
};

// An outgoing connection's TLS: the server is verified against `ca` and its
// name (the host part of the address, or `server_name` when given); `cert`
// and `key`, when given, are the client certificate presented.
struct ClientFiles {
  std::string ca;
  std::string cert;
  std::string key;
  std::string server_name;
  bool enabled() const { return !ca.empty(); }
};

class Context {
 public:
  enum class Role { server, client };

  // Throw std::runtime_error naming the file and OpenSSL's reason.
  static std::shared_ptr<const Context> server(const ServerFiles& files);
  static std::shared_ptr<const Context> client(const ClientFiles& files);
  ~Context();
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;

  SSL_CTX* native() const noexcept { return ctx_; }
  Role role() const noexcept { return role_; }
  // Client: the name to verify instead of the address's host (empty: none).
  const std::string& server_name() const noexcept { return server_name_; }
  // Client: makes `ssl` (a connection to `host`) verify the server's name:
  // server_name() if set, else `host` (an IP address as an IP SAN, a name
  // as a DNS SAN, also sent as SNI). Every client TLS connection, ours or
  // Beast's (etcds://), names its server this way.
  void expect_server_name(SSL* ssl, const std::string& host) const;
  // When the certificate this side presents expires (none: max()).
  std::chrono::system_clock::time_point certificate_expiry() const noexcept { return expiry_; }

  // Client: the last session a server ("host:port") gave for resumption,
  // offered by the next connection to it, so a reconnect skips the full
  // handshake (certificate exchange and verification). Thread-safe.
  // take_session returns a new reference (the caller frees it) or null.
  SSL_SESSION* take_session(const std::string& server) const;
  void keep_session(const std::string& server, SSL_SESSION* session) const;  // takes the reference

 private:
  Context(SSL_CTX* ctx, Role role) : ctx_(ctx), role_(role) {}
  SSL_CTX* ctx_;
  mutable std::mutex sessions_mutex_;
  mutable std::unordered_map<std::string, SSL_SESSION*> sessions_;  // bounded: one per server
  Role role_;
  std::string server_name_;
  std::chrono::system_clock::time_point expiry_ = std::chrono::system_clock::time_point::max();
};

}  // namespace routing::rpc::tls
