#include "rpc/host_port.h"

#include <algorithm>
#include <charconv>

namespace routing::rpc {

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

std::optional<std::vector<std::string>> parse_address_list(std::string_view text, std::string& error) {
  std::vector<std::string> out;
  for (std::size_t from = 0;;) {
    const auto comma = text.find(',', from);
    const auto one = text.substr(from, comma == std::string_view::npos ? std::string_view::npos : comma - from);
    auto parsed = parse_host_port(one);
    if (!parsed || parsed->port == 0) {
      error = "'" + std::string(one) + "' is not host:port with a port a client can connect to";
      return std::nullopt;
    }
    if (std::find(out.begin(), out.end(), one) == out.end()) out.emplace_back(one);
    if (comma == std::string_view::npos) return out;
    from = comma + 1;
  }
}

}  // namespace routing::rpc
