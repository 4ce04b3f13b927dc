#pragma once
// static://echo=127.0.0.1:7001,127.0.0.1:7002;kv=127.0.0.1:7101 — a fixed
// map, for tests and small fixed deployments. Its sets never change.
#include "discovery/discovery.h"

#include <map>
#include <vector>

namespace routing::discovery {

class StaticDiscovery : public Discovery {
 public:
  StaticDiscovery(boost::asio::any_io_executor executor,
                  std::map<std::string, std::vector<std::string>> fixed, std::string url);

  boost::asio::awaitable<Result<std::string>> query(std::string name) override;
  boost::asio::awaitable<Result<AddressSet>> list(std::string name) override;
  // Succeeds, changing nothing, for an address the map lists under `name`;
  // anything else is status 3: a fixed map cannot learn new instances.
  boost::asio::awaitable<Result<std::chrono::milliseconds>> announce(
      std::string name, std::string address, std::chrono::milliseconds ttl) override;
  boost::asio::awaitable<Result<bool>> withdraw(std::string name, std::string address) override;
  // Delivers the fixed set once.
  std::unique_ptr<WatchHandle> watch(std::string name, WatchCallback on_change) override;
  boost::asio::any_io_executor executor() const override { return executor_; }
  std::string describe() const override { return url_; }

 private:
  bool lists(const std::string& name, const std::string& address) const;

  boost::asio::any_io_executor executor_;
  std::map<std::string, std::vector<std::string>> fixed_;
  std::string url_;
};

}  // namespace routing::discovery
