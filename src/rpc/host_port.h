#pragma once
// "host:port" text as used in flags and discovery records: parsing only, no
// Asio, so that fuzzers and the discovery protocol can use it cheaply.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace routing::rpc {

struct HostPort {
  std::string host;  // without brackets for IPv6
  std::uint16_t port = 0;
};

// Accepts "host:port", "[v6]:port"; port 0..65535, host non-empty with no
// whitespace or ':' (outside brackets). Returns nullopt otherwise.
std::optional<HostPort> parse_host_port(std::string_view text);

// "host:port[,host:port...]": addresses a client can connect to (port 1..),
// each once, in their order. nullopt with `error` set for a bad entry.
// (ProxyClientOptions::address, routectl --proxy.)
std::optional<std::vector<std::string>> parse_address_list(std::string_view text, std::string& error);

}  // namespace routing::rpc
