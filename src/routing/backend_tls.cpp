#include "routing/backend_tls.h"

#include "rpc/host_port.h"

#include <stdexcept>

namespace routing::core {

rpc::tls::ClientFiles BackendTls::files_of(const TlsClientOptions& options) {
  return {options.ca_file, options.cert_file, options.key_file, options.server_name};
}

std::shared_ptr<const rpc::tls::Context> BackendTls::make(const TlsClientOptions& options) {
  auto files = files_of(options);
  if (!files.enabled()) {
    if (!options.cert_file.empty() || !options.key_file.empty() || !options.server_name.empty()) {
      throw std::invalid_argument("client TLS: a client certificate or server name needs a CA file");
    }
    return nullptr;
  }
  try {
    return rpc::tls::Context::client(files);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(e.what());
  }
}

BackendTls::BackendTls(const TlsClientOptions& options) : context_(make(options)) {
  enabled_ = context_.load() != nullptr;
}

void BackendTls::reload(const TlsClientOptions& options) {
  if (!enabled_) return;
  auto fresh = make(options);
  if (fresh) context_.store(std::move(fresh));
}

void BackendTls::apply(rpc::ClientConnection& connection, const std::string& address) const {
  if (!enabled_) return;
  handshakes_.fetch_add(1, std::memory_order_relaxed);
  auto parsed = rpc::parse_host_port(address);
  connection.use_tls(context_.load(), parsed ? parsed->host : address);
}

}  // namespace routing::core
