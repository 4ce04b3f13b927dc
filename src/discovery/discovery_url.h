#pragma once
// Parses discovery URLs (CONTRACT §5) without connecting to anything.
#include "discovery/address_set.h"

#include <map>
#include <string>
#include <string_view>
#include <vector>

namespace routing::discovery {

struct DiscoveryUrl {
  std::string scheme;                  // "rpc", "etcd", "book" or "static"
  bool tls = false;                    // rpcs:// or etcds://: the same over TLS
  std::vector<std::string> endpoints;  // rpc/etcd: host:port, in order
  // static: name -> its addresses (sorted, each once) and their placements,
  // from "NAME=ADDRESS[@ZONE][*WEIGHT],...;..." (index 0)
  std::map<std::string, AddressSet> fixed;
};

// Throws std::invalid_argument saying what is wrong.
DiscoveryUrl parse_discovery_url(std::string_view url);

}  // namespace routing::discovery
