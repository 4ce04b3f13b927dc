#include "routing/backend_tls.h"

#include "rpc/host_port.h"

#include <stdexcept>

namespace routing::core {

rpc::tls::ClientFiles BackendTls::files_of(const TlsClientOptions& options) {
  return {options.ca_file, options.cert_file, options.key_file, options.server_name};
}

BackendTls::BackendTls(const TlsClientOptions& options) {
  auto files = files_of(options);
  if (!files.enabled()) {
    if (!options.cert_file.empty() || !options.key_file.empty() || !options.server_name.empty()) {
      throw std::invalid_argument("TLS to backends: a client certificate or server name needs a CA file");
    }
    return;
  }
  try {
    context_ = rpc::tls::Context::client(files);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(e.what());
  }
}

void BackendTls::apply(rpc::ClientConnection& connection, const std::string& address) const {
  if (!context_) return;
  handshakes_.fetch_add(1, std::memory_order_relaxed);
  auto parsed = rpc::parse_host_port(address);
  connection.use_tls(context_, parsed ? parsed->host : address);
}

}  // namespace routing::core
