#pragma once
// "host:port" addresses as used in flags and discovery records.
#include "rpc/host_port.h"

#include <boost/asio/ip/tcp.hpp>

#include <string>
#include <string_view>

namespace routing::rpc {

// "host:port", bracketing IPv6 hosts.
std::string format_host_port(const boost::asio::ip::tcp::endpoint& endpoint);

// Resolves synchronously (numeric hosts and "localhost" never block on DNS).
// Throws std::runtime_error with a readable message on failure.
boost::asio::ip::tcp::endpoint resolve_endpoint(std::string_view text);

}  // namespace routing::rpc
