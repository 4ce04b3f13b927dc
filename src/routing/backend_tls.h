#pragma once
// The TLS a router's backend connections speak (RouterOptions::tls): one
// client context for the whole router, made once from the files, applied to
// every new connection with that backend's host as the name to verify. The
// call path and the health checker both connect through it, so a health
// check sees what a call would.
#include "common/shared_snapshot.h"
#include "rpc/client_connection.h"
#include "rpc/tls/tls_context.h"

#include <routing/router.h>

#include <atomic>
#include <memory>

namespace routing::core {

class BackendTls {
 public:
  // Throws std::invalid_argument when the files do not make a context.
  explicit BackendTls(const TlsClientOptions& options);

  bool enabled() const noexcept { return enabled_; }
  // Prepares a connection not yet connected to `address` ("host:port").
  void apply(rpc::ClientConnection& connection, const std::string& address) const;
  // The context new connections get (null without TLS).
  std::shared_ptr<const rpc::tls::Context> context() const noexcept { return context_.load(); }
  // A certificate reload (SIGHUP): the files read again; connections made
  // from now on present the new certificate and trust the new CA, pooled
  // ones keep theirs until they close. Throws std::invalid_argument (and
  // changes nothing) when the files do not make a context. Turning TLS on
  // or off is not a reload: the caller keeps the state it started with.
  void reload(const TlsClientOptions& options);
  // Connections prepared for TLS so far (each makes one handshake).
  std::uint64_t handshakes() const noexcept { return handshakes_.load(std::memory_order_relaxed); }

  static rpc::tls::ClientFiles files_of(const TlsClientOptions& options);

 private:
  static std::shared_ptr<const rpc::tls::Context> make(const TlsClientOptions& options);

  bool enabled_ = false;
  common::SharedSnapshot<const rpc::tls::Context> context_;
  mutable std::atomic<std::uint64_t> handshakes_{0};
};

}  // namespace routing::core
