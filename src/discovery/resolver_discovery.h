#pragma once
// Adapts a user's routing::Resolver (include/routing/discovery.h, the small
// stable public interface) to the router's internal Discovery, so that the
// router core has one way to find backends whoever provides them. The
// resolver's callbacks may come from any thread: each is posted onto the
// discovery's executor, where the router expects them.
#include "discovery/discovery.h"

#include <routing/discovery.h>

namespace routing::discovery {

class ResolverDiscovery : public Discovery {
 public:
  ResolverDiscovery(boost::asio::any_io_executor executor, std::shared_ptr<Resolver> resolver);

  boost::asio::awaitable<Result<std::string>> query(std::string name) override;
  boost::asio::awaitable<Result<AddressSet>> list(std::string name) override;
  // A resolver only reads: registering is status 12 (not supported).
  boost::asio::awaitable<Result<std::chrono::milliseconds>> announce(
      std::string name, std::string address, std::chrono::milliseconds ttl, Placement placement) override;
  boost::asio::awaitable<Result<bool>> withdraw(std::string name, std::string address) override;
  std::unique_ptr<WatchHandle> watch(std::string name, WatchCallback on_change) override;
  boost::asio::any_io_executor executor() const override { return executor_; }
  std::string describe() const override { return "a custom resolver (RouterOptions::resolver)"; }

 private:
  boost::asio::any_io_executor executor_;
  std::shared_ptr<Resolver> resolver_;
};

}  // namespace routing::discovery
