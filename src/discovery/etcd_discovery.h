#pragma once
// etcd://host:port[,host:port...] — discovery in an etcd v3 cluster, through
// its gRPC-JSON gateway. An instance is the key
//   /routing/services/<escaped name>/<address>   (value: the address)
// bound to a lease of its own, kept alive by announce(). A watch reads the
// prefix, then follows etcd's watch stream from the next revision, and
// delivers the whole set after every change; if the stream breaks it reads
// the prefix again, so no change can be missed.
#include "discovery/discovery.h"
#include "discovery/etcd_http.h"

#include <map>
#include <string>
#include <string_view>

namespace routing::discovery {

inline constexpr std::string_view etcd_key_prefix = "/routing/services/";

// A name as it appears in keys: '%' becomes "%25" and '/' "%2F", so the
// name's part of a key never contains '/'. A name's keys are then exactly
// those under "<prefix><escaped name>/", and no other name's keys are: without
// the escape, the keys of "echo/sub" lay under the prefix of "echo", whose
// lists and watches saw its instances. Names without '%' or '/' are unchanged.
std::string etcd_key_name(std::string_view name);
// The key of one instance: etcd_key_prefix + etcd_key_name(name) + "/" + address.
std::string etcd_instance_key(std::string_view name, std::string_view address);

class EtcdDiscovery : public Discovery {
 public:
  EtcdDiscovery(boost::asio::any_io_executor executor, std::vector<std::string> endpoints,
                DiscoveryOptions options);

  boost::asio::awaitable<Result<std::string>> query(std::string name) override;
  boost::asio::awaitable<Result<AddressSet>> list(std::string name) override;
  // etcd leases count whole seconds: the TTL is rounded up (and etcd may
  // raise it to its minimum); the lease granted is returned.
  boost::asio::awaitable<Result<std::chrono::milliseconds>> announce(
      std::string name, std::string address, std::chrono::milliseconds ttl) override;
  boost::asio::awaitable<Result<bool>> withdraw(std::string name, std::string address) override;
  std::unique_ptr<WatchHandle> watch(std::string name, WatchCallback on_change) override;
  boost::asio::any_io_executor executor() const override { return executor_; }
  std::string describe() const override;

 private:
  // announce() and withdraw() on executor_, where leases_ lives.
  boost::asio::awaitable<Result<std::chrono::milliseconds>> announce_here(
      std::string name, std::string address, std::chrono::milliseconds ttl);
  boost::asio::awaitable<Result<bool>> withdraw_here(std::string name, std::string address);
  boost::asio::awaitable<Result<std::chrono::milliseconds>> grant_and_put(
      const std::string& key, const std::string& address, std::chrono::milliseconds ttl);

  boost::asio::any_io_executor executor_;
  std::vector<std::string> endpoints_;
  DiscoveryOptions options_;
  std::shared_ptr<EtcdHttp> http_;
  std::map<std::string, std::int64_t> leases_;  // instance key -> lease id
};

}  // namespace routing::discovery
