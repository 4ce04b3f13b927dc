#pragma once
// "host:port" text as used in flags and discovery records: parsing only, no
// Asio, so that fuzzers and the discovery protocol can use it cheaply.
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

}  // namespace routing::rpc
