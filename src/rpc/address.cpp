#include "rpc/address.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <stdexcept>

namespace routing::rpc {
namespace asio = boost::asio;

std::string format_host_port(const asio::ip::tcp::endpoint& endpoint) {
  auto address = endpoint.address();
  std::string host = address.to_string();
  if (address.is_v6()) host = "[" + host + "]";
  return host + ":" + std::to_string(endpoint.port());
}

asio::ip::tcp::endpoint resolve_endpoint(std::string_view text) {
  auto parsed = parse_host_port(text);
  if (!parsed) {
    throw std::runtime_error("invalid address '" + std::string(text) + "': expected HOST:PORT");
  }
  boost::system::error_code ec;
  auto ip = asio::ip::make_address(parsed->host, ec);
  if (!ec) return {ip, parsed->port};
  asio::io_context ctx;
  asio::ip::tcp::resolver resolver(ctx);
  auto results = resolver.resolve(parsed->host, std::to_string(parsed->port), ec);
  if (ec || results.empty()) {
    throw std::runtime_error("cannot resolve '" + parsed->host + "': " + ec.message());
  }
  return results.begin()->endpoint();
}

}  // namespace routing::rpc
