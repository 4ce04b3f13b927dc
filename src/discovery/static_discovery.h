#pragma once
// static://echo=127.0.0.1:7001,127.0.0.1:7002;kv=127.0.0.1:7101 — a fixed
// map, for tests and small fixed deployments. Its sets never change. Each
// address may carry a zone and a weight: ADDRESS[@ZONE][*WEIGHT]
// ("127.0.0.1:7001@us-east-1a*50", "[::1]:7002@b"; docs/discovery.md).
#include "discovery/discovery.h"

#include <map>

namespace routing::discovery {

class StaticDiscovery : public Discovery {
 public:
  StaticDiscovery(boost::asio::any_io_executor executor, std::map<std::string, AddressSet> fixed, std::string url);

  boost::asio::awaitable<Result<std::string>> query(std::string name) override;
  boost::asio::awaitable<Result<AddressSet>> list(std::string name) override;
  // Succeeds, changing nothing, for an address the map lists under `name`
  // (its placement is the URL's, whatever `placement` says); anything else
  // is status 3: a fixed map cannot learn new instances.
  boost::asio::awaitable<Result<std::chrono::milliseconds>> announce(
      std::string name, std::string address, std::chrono::milliseconds ttl, Placement placement) override;
  boost::asio::awaitable<Result<bool>> withdraw(std::string name, std::string address) override;
  // Delivers the fixed set once.
  std::unique_ptr<WatchHandle> watch(std::string name, WatchCallback on_change) override;
  boost::asio::any_io_executor executor() const override { return executor_; }
  std::string describe() const override { return url_; }

 private:
  bool lists(const std::string& name, const std::string& address) const;
  AddressSet set_of(const std::string& name) const;

  boost::asio::any_io_executor executor_;
  std::map<std::string, AddressSet> fixed_;  // each at index 1
  std::string url_;
};

}  // namespace routing::discovery
