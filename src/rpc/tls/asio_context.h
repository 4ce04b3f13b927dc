#pragma once
// Our TLS context (tls_context.h) for the places that speak TLS through
// Asio's ssl::stream, over Beast's HTTP: etcd over HTTPS (etcds://) and the
// admin listeners (--admin-tls-*). The same SSL_CTX, so the same files,
// TLS 1.3 only and the same verification as every other hop.
#include "rpc/tls/tls_context.h"

#include <boost/asio/ssl/context.hpp>

#include <memory>

namespace routing::rpc::tls {

// Asio's context over `context`'s SSL_CTX (holding its own reference).
std::shared_ptr<boost::asio::ssl::context> asio_context_of(const Context& context);

}  // namespace routing::rpc::tls
