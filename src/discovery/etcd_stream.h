#pragma once
// One HTTP connection to an etcd member: plain TCP (etcd://) or TLS
// (etcds://, through Beast's ssl_stream, verifying the member against the CA
// and the host of its address, with the client certificate if one is
// configured). Beast's HTTP functions run on either through with().
#include "rpc/tls/tls_context.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <memory>
#include <string>
#include <variant>

namespace routing::discovery {

// The TLS of every connection of one etcd client: our client context, and
// the same SSL_CTX wrapped for Asio's ssl::stream.
class EtcdTls {
 public:
  // Null `context`: plain TCP.
  explicit EtcdTls(std::shared_ptr<const rpc::tls::Context> context);
  bool enabled() const { return context_ != nullptr; }
  const rpc::tls::Context& context() const { return *context_; }
  boost::asio::ssl::context& asio_context() { return *asio_; }

 private:
  std::shared_ptr<const rpc::tls::Context> context_;
  std::shared_ptr<boost::asio::ssl::context> asio_;
};

class EtcdStream {
 public:
  EtcdStream(boost::asio::any_io_executor executor, EtcdTls& tls);

  // TCP connect to `endpoint` ("host:port"), then the TLS handshake if any,
  // within the time set by expires_after.
  boost::asio::awaitable<boost::system::error_code> connect(const std::string& endpoint);
  boost::beast::tcp_stream& tcp();
  // Calls `use` with the stream to read and write HTTP on.
  template <class Use>
  decltype(auto) with(Use&& use) {
    return std::visit([&](auto& stream) -> decltype(auto) { return use(stream); }, stream_);
  }
  // Ends the connection at once (cancels what waits on it).
  void abort();

 private:
  using Plain = boost::beast::tcp_stream;
  using Tls = boost::beast::ssl_stream<boost::beast::tcp_stream>;
  EtcdTls& tls_;
  std::variant<Plain, Tls> stream_;
};

}  // namespace routing::discovery
