#pragma once
// "host:port" addresses as used in flags and discovery records.
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace routing::rpc {

struct HostPort {
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 0;
};

// Accepts "host:port", "[v6]:port"; port 0..65535, host non-empty with no
// whitespace or ':' (outside brackets). Returns nullopt otherwise.
std::optional<HostPort> parse_host_port(std::string_view text);

// "host:port", bracketing IPv6 hosts.
std::string format_host_port(const boost::asio::ip::tcp::endpoint& endpoint);

// Resolves synchronously (numeric hosts and "localhost" never block on DNS).
// Throws std::runtime_error with a readable message on failure.
boost::asio::ip::tcp::endpoint resolve_endpoint(std::string_view text);

}  // namespace routing::rpc
