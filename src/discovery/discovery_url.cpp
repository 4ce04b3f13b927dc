#include "discovery/discovery_url.h"

#include "rpc/host_port.h"

#include <algorithm>
#include <stdexcept>

namespace routing::discovery {
namespace {

std::vector<std::string> split(std::string_view text, char separator) {
  std::vector<std::string> parts;
  std::size_t start = 0;
  for (;;) {
    std::size_t end = text.find(separator, start);
    parts.emplace_back(text.substr(start, end - start));
    if (end == std::string_view::npos) return parts;
    start = end + 1;
  }
}

void check_address(const std::string& address, std::string_view url) {
  auto parsed = rpc::parse_host_port(address);
  if (!parsed || parsed->port == 0) {
    throw std::invalid_argument("discovery URL '" + std::string(url) + "': '" + address +
                                "' is not host:port");
  }
}

// "echo=a:1,b:2;kv=c:3"
std::map<std::string, std::vector<std::string>> parse_static_map(std::string_view body,
                                                                 std::string_view url) {
  std::map<std::string, std::vector<std::string>> fixed;
  if (body.empty()) return fixed;
  for (const auto& entry : split(body, ';')) {
    if (entry.empty()) continue;  // tolerate a trailing ';'
    auto equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
      throw std::invalid_argument("discovery URL '" + std::string(url) + "': expected name=host:port[,host:port...], got '" + entry + "'");
    }
    auto& addresses = fixed[entry.substr(0, equals)];
    for (auto& address : split(std::string_view(entry).substr(equals + 1), ',')) {
      check_address(address, url);
      if (std::find(addresses.begin(), addresses.end(), address) == addresses.end()) {
        addresses.push_back(address);
      }
    }
    std::sort(addresses.begin(), addresses.end());
  }
  return fixed;
}

}  // namespace

DiscoveryUrl parse_discovery_url(std::string_view url) {
  auto separator = url.find("://");
  if (separator == std::string_view::npos) {
    throw std::invalid_argument("discovery URL '" + std::string(url) +
                                "' has no scheme (rpc://, rpcs://, etcd://, etcds:// or static://)");
  }
  DiscoveryUrl parsed;
  parsed.scheme = std::string(url.substr(0, separator));
  std::string_view body = url.substr(separator + 3);
  if (parsed.scheme == "static") {
    parsed.fixed = parse_static_map(body, url);
    return parsed;
  }
  if (parsed.scheme == "rpcs" || parsed.scheme == "etcds") {
    parsed.scheme.pop_back();
    parsed.tls = true;
  }
  if (parsed.scheme != "rpc" && parsed.scheme != "etcd") {
    throw std::invalid_argument("discovery URL '" + std::string(url) + "': unknown scheme '" +
                                parsed.scheme + "' (rpc, rpcs, etcd, etcds or static)");
  }
  if (!body.empty() && body.back() == '/') body.remove_suffix(1);
  if (body.empty()) {
    throw std::invalid_argument("discovery URL '" + std::string(url) + "' names no host:port");
  }
  parsed.endpoints = split(body, ',');
  for (const auto& endpoint : parsed.endpoints) check_address(endpoint, url);
  if (parsed.scheme == "rpc" && parsed.endpoints.size() != 1) {
    throw std::invalid_argument("discovery URL '" + std::string(url) +
                                "': rpc:// takes one discoveryd address (use etcd:// for a cluster)");
  }
  return parsed;
}

}  // namespace routing::discovery
