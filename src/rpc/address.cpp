#include "rpc/address.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>

#include <algorithm>
#include <charconv>
#include <stdexcept>

namespace routing::rpc {
namespace asio = boost::asio;

std::optional<HostPort> parse_host_port(std::string_view text) {
  std::size_t colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0) return std::nullopt;
  std::string_view host = text.substr(0, colon);
  std::string_view port_text = text.substr(colon + 1);
  if (port_text.empty() || port_text.size() > 5) return std::nullopt;
  unsigned port = 0;
  auto [end, ec] = std::from_chars(port_text.data(), port_text.data() + port_text.size(), port);
  if (ec != std::errc{} || end != port_text.data() + port_text.size() || port > 65535) {
    return std::nullopt;
  }
  if (host.front() == '[') {
    if (host.size() < 3 || host.back() != ']') return std::nullopt;
    host = host.substr(1, host.size() - 2);
  } else if (host.find(':') != std::string_view::npos) {
    return std::nullopt;
  }
  auto bad = [](char c) { return c <= ' ' || c == 127 || c == '[' || c == ']' || c == '/'; };
  if (host.empty() || std::any_of(host.begin(), host.end(), bad)) return std::nullopt;
  return HostPort{std::string(host), static_cast<std::uint16_t>(port)};
}

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
