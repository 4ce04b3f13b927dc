#pragma once
// rpc://host:port — discovery through discoveryd. Unary calls share one
// pipelined connection (reconnected on demand); all watches share one more,
// where one loop long-polls the multi-name LIST (RpcWatchHub).
#include "discovery/discovery.h"
#include "discovery/rpc_watch_hub.h"
#include "rpc/reconnecting_connection.h"

#include <memory>

namespace routing::discovery {

class RpcDiscovery : public Discovery {
 public:
  RpcDiscovery(boost::asio::any_io_executor executor, std::string address, DiscoveryOptions options);

  boost::asio::awaitable<Result<std::string>> query(std::string name) override;
  boost::asio::awaitable<Result<AddressSet>> list(std::string name) override;
  boost::asio::awaitable<Result<std::chrono::milliseconds>> announce(
      std::string name, std::string address, std::chrono::milliseconds ttl, Placement placement) override;
  boost::asio::awaitable<Result<bool>> withdraw(std::string name, std::string address) override;
  std::unique_ptr<WatchHandle> watch(std::string name, WatchCallback on_change) override;
  void shutdown() override;
  boost::asio::any_io_executor executor() const override { return executor_; }
  std::string describe() const override { return "rpc://" + address_; }

 private:
  // One call on the shared connection, on executor_.
  boost::asio::awaitable<Reply> unary(std::uint32_t procedure, std::string payload);
  boost::asio::awaitable<Reply> unary_here(std::uint32_t procedure, std::string payload);

  boost::asio::any_io_executor executor_;
  std::string address_;
  DiscoveryOptions options_;
  rpc::ReconnectingConnection connection_;
  std::shared_ptr<RpcWatchHub> watches_;
};

}  // namespace routing::discovery
