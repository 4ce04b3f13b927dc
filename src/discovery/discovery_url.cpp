#include "discovery/discovery_url.h"

#include "discovery/placement_rules.h"
#include "rpc/host_port.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
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

[[noreturn]] void reject(std::string_view url, const std::string& why) {
  throw std::invalid_argument("discovery URL '" + std::string(url) + "': " + why);
}

// "*WEIGHT": a decimal 1..Placement::max_weight.
std::uint32_t parse_weight(std::string_view digits, std::string_view item, std::string_view url) {
  std::uint64_t weight = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), weight);
  bool whole = !digits.empty() && ec == std::errc() && end == digits.data() + digits.size();
  if (!whole || weight < 1 || weight > Placement::max_weight) {
    reject(url, "the weight of '" + std::string(item) + "' must be a number in 1.." +
                    std::to_string(Placement::max_weight) + ", got '" + std::string(digits) + "'");
  }
  return static_cast<std::uint32_t>(weight);
}

// One instance of a static list: ADDRESS[@ZONE][*WEIGHT]. Neither a host, a
// port nor a zone holds '@' or '*' (an IPv6 host is in brackets: "[::1]:7001@a").
std::pair<std::string, Placement> parse_static_instance(std::string_view item, std::string_view url) {
  Placement placement;
  std::string_view address = item;
  if (auto star = address.rfind('*'); star != std::string_view::npos) {
    placement.weight = parse_weight(address.substr(star + 1), item, url);
    address = address.substr(0, star);
  }
  if (auto at = address.find('@'); at != std::string_view::npos) {
    placement.zone = std::string(address.substr(at + 1));
    address = address.substr(0, at);
    if (placement.zone.empty()) reject(url, "'" + std::string(item) + "' has an empty zone after '@'");
    if (auto error = zone_error(placement.zone)) reject(url, "the zone of '" + std::string(item) + "': " + *error);
  }
  check_address(std::string(address), url);
  return {std::string(address), std::move(placement)};
}

// Adds one instance to `set`; listing an address twice is fine only with the
// same placement.
void add_static_instance(AddressSet& set, std::pair<std::string, Placement> instance, std::string_view url) {
  auto& [address, placement] = instance;
  if (std::find(set.addresses.begin(), set.addresses.end(), address) != set.addresses.end()) {
    if (set.placement_of(address) != placement) {
      reject(url, "'" + address + "' is listed twice with different zones or weights");
    }
    return;
  }
  set.addresses.push_back(address);
  set.place(address, std::move(placement));
}

// "echo=a:1@z1,b:2*50;kv=c:3"
std::map<std::string, AddressSet> parse_static_map(std::string_view body, std::string_view url) {
  std::map<std::string, AddressSet> fixed;
  if (body.empty()) return fixed;
  for (const auto& entry : split(body, ';')) {
    if (entry.empty()) continue;  // tolerate a trailing ';'
    auto equals = entry.find('=');
    if (equals == std::string::npos || equals == 0) {
      reject(url, "expected name=host:port[@zone][*weight][,...], got '" + entry + "'");
    }
    auto& set = fixed[entry.substr(0, equals)];
    for (const auto& item : split(std::string_view(entry).substr(equals + 1), ',')) {
      add_static_instance(set, parse_static_instance(item, url), url);
    }
    std::sort(set.addresses.begin(), set.addresses.end());
  }
  return fixed;
}

}  // namespace

DiscoveryUrl parse_discovery_url(std::string_view url) {
  auto separator = url.find("://");
  if (separator == std::string_view::npos) {
    throw std::invalid_argument("discovery URL '" + std::string(url) +
                                "' has no scheme (rpc://, rpcs://, etcd://, etcds://, book:// or static://)");
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
  if (parsed.scheme != "rpc" && parsed.scheme != "etcd" && parsed.scheme != "book") {
    throw std::invalid_argument("discovery URL '" + std::string(url) + "': unknown scheme '" +
                                parsed.scheme + "' (rpc, rpcs, etcd, etcds, book or static)");
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
  if (parsed.scheme == "book" && parsed.endpoints.size() != 1) {
    throw std::invalid_argument("discovery URL '" + std::string(url) + "': book:// takes one address");
  }
  return parsed;
}

}  // namespace routing::discovery
