#include "discovery/etcd_stream.h"

#include "rpc/address.h"
#include "rpc/host_port.h"
#include "rpc/tls/asio_context.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace routing::discovery {
namespace asio = boost::asio;
namespace beast = boost::beast;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace

EtcdTls::EtcdTls(std::shared_ptr<const rpc::tls::Context> context)
    : context_(std::move(context)), asio_(context_ ? rpc::tls::asio_context_of(*context_) : nullptr) {}

EtcdStream::EtcdStream(asio::any_io_executor executor, EtcdTls& tls)
    : tls_(tls),
      stream_(tls.enabled() ? std::variant<Plain, Tls>(std::in_place_type<Tls>, executor, tls.asio_context())
                            : std::variant<Plain, Tls>(std::in_place_type<Plain>, executor)) {}

beast::tcp_stream& EtcdStream::tcp() {
  return std::visit([](auto& stream) -> beast::tcp_stream& { return beast::get_lowest_layer(stream); }, stream_);
}

asio::awaitable<boost::system::error_code> EtcdStream::connect(const std::string& endpoint) {
  asio::ip::tcp::endpoint target;
  try {
    target = rpc::resolve_endpoint(endpoint);
  } catch (const std::exception&) {
    co_return asio::error::host_not_found;
  }
  auto [ec] = co_await tcp().async_connect(target, use_nothrow);
  auto* tls = std::get_if<Tls>(&stream_);
  if (ec || !tls) co_return ec;
  auto host = rpc::parse_host_port(endpoint);
  tls_.context().expect_server_name(tls->native_handle(), host ? host->host : endpoint);
  auto [handshake_ec] = co_await tls->async_handshake(asio::ssl::stream_base::client, use_nothrow);
  co_return handshake_ec;
}

void EtcdStream::abort() {
  tcp().cancel();
  beast::error_code ignored;
  tcp().socket().close(ignored);
}

}  // namespace routing::discovery
