#pragma once
// etcd://host:port[,host:port...] — discovery in an etcd v3 cluster, through
// its gRPC-JSON gateway. An instance is the key
//   /routing/services/<escaped name>/<address>
// (value: the address, or the instance's JSON when it has a placement)
// bound to a lease of its own, kept alive by announce() (etcd_keys.h). All
// watches of one EtcdDiscovery share one etcd watch stream over the services
// prefix (etcd_watch_hub.h): each name is read, then followed on that stream,
// and its whole set is delivered after every change.
#include "discovery/discovery.h"
#include "discovery/etcd_http.h"
#include "discovery/etcd_keys.h"

#include <map>
#include <string>
#include <string_view>

namespace routing::discovery {

class EtcdWatchHub;

class EtcdDiscovery : public Discovery {
 public:
  EtcdDiscovery(boost::asio::any_io_executor executor, std::vector<std::string> endpoints,
                DiscoveryOptions options);

  boost::asio::awaitable<Result<std::string>> query(std::string name) override;
  boost::asio::awaitable<Result<AddressSet>> list(std::string name) override;
  // etcd leases count whole seconds: the TTL is rounded up (and etcd may
  // raise it to its minimum); the lease granted is returned.
  boost::asio::awaitable<Result<std::chrono::milliseconds>> announce(
      std::string name, std::string address, std::chrono::milliseconds ttl, Placement placement) override;
  boost::asio::awaitable<Result<bool>> withdraw(std::string name, std::string address) override;
  std::unique_ptr<WatchHandle> watch(std::string name, WatchCallback on_change) override;
  boost::asio::any_io_executor executor() const override { return executor_; }
  std::string describe() const override;

 private:
  // announce() and withdraw() on executor_, where leases_ lives.
  boost::asio::awaitable<Result<std::chrono::milliseconds>> announce_here(
      std::string name, std::string address, std::chrono::milliseconds ttl, Placement placement);
  boost::asio::awaitable<Result<bool>> withdraw_here(std::string name, std::string address);
  boost::asio::awaitable<Result<std::chrono::milliseconds>> grant_and_put(
      const std::string& key, const std::string& address, const Placement& placement,
      std::chrono::milliseconds ttl);
  boost::asio::awaitable<Result<boost::json::object>> put_instance(const std::string& key, const std::string& address,
                                                                   const Placement& placement, std::int64_t lease);

  boost::asio::any_io_executor executor_;
  std::vector<std::string> endpoints_;
  DiscoveryOptions options_;
  std::shared_ptr<EtcdHttp> http_;
  // What each instance key was last put with.
  struct Lease {
    std::int64_t id = 0;
    Placement placement;
  };
  std::map<std::string, Lease> leases_;  // by instance key
  std::shared_ptr<EtcdWatchHub> watches_;       // the one watch stream
};

}  // namespace routing::discovery
