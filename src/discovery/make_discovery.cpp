#include "discovery/discovery.h"
#include "discovery/book_discovery.h"
#include "discovery/discovery_url.h"
#include "discovery/etcd_discovery.h"
#include "discovery/rpc_discovery.h"
#include "discovery/static_discovery.h"

namespace routing::discovery {

std::unique_ptr<Discovery> make_discovery(std::string_view url, boost::asio::any_io_executor executor,
                                          DiscoveryOptions options) {
  DiscoveryUrl parsed = parse_discovery_url(url);
  if (!parsed.tls) {
    options.tls = nullptr;  // a plain scheme speaks plain TCP, whatever else is configured
  } else if (!options.tls) {
    throw std::invalid_argument("discovery URL '" + std::string(url) + "': " + parsed.scheme +
                                "s:// needs a CA to verify the server with (--tls-ca; RouterOptions::tls.ca_file)");
  }
  if (parsed.scheme == "static") {
    return std::make_unique<StaticDiscovery>(std::move(executor), std::move(parsed.fixed), std::string(url));
  }
  if (parsed.scheme == "book") {
    return std::make_unique<BookDiscovery>(std::move(executor), parsed.endpoints.front(), options);
  }
  if (parsed.scheme == "etcd") {
    return std::make_unique<EtcdDiscovery>(std::move(executor), std::move(parsed.endpoints), options);
  }
  return std::make_unique<RpcDiscovery>(std::move(executor), parsed.endpoints.front(), options);
}

}  // namespace routing::discovery
