#pragma once
// One name's rpc:// watch on a connection of its own, long-polling the
// single-name LIST (CONTRACT §2). RpcWatchHub falls back to one of these per
// watch when discoveryd does not know the multi-name LIST.
#include "discovery/discovery.h"
#include "rpc/client_connection.h"

#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <optional>

namespace routing::discovery {

class RpcNameWatch : public std::enable_shared_from_this<RpcNameWatch> {
 public:
  // Starts the loop; it delivers sets that differ from `last` (if given).
  static std::shared_ptr<RpcNameWatch> start(boost::asio::any_io_executor executor, std::string address,
                                             std::string name, DiscoveryOptions options, WatchCallback on_change,
                                             std::optional<AddressSet> last = std::nullopt);
  RpcNameWatch(boost::asio::any_io_executor executor, std::string address, std::string name,
               DiscoveryOptions options, WatchCallback on_change);
  // Any thread.
  void stop();

 private:
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds time);
  boost::asio::awaitable<void> run(std::optional<AddressSet> last);

  boost::asio::any_io_executor executor_;
  std::string address_;
  std::string name_;
  DiscoveryOptions options_;
  WatchCallback on_change_;
  std::atomic<bool> stopped_{false};
  std::shared_ptr<rpc::ClientConnection> connection_;
  boost::asio::steady_timer pause_;
};

}  // namespace routing::discovery
