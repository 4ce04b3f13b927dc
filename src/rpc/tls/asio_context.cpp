#include "rpc/tls/asio_context.h"

#include <openssl/ssl.h>

namespace routing::rpc::tls {

std::shared_ptr<boost::asio::ssl::context> asio_context_of(const Context& context) {
  SSL_CTX_up_ref(context.native());  // Asio's context frees the reference it was given
  return std::make_shared<boost::asio::ssl::context>(context.native());
}

}  // namespace routing::rpc::tls
