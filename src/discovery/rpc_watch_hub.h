#pragma once
// The rpc:// backend's watches (docs/discovery.md, "Watching a name"): every
// name one RpcDiscovery watches is followed by ONE loop on ONE connection of
// its own, long-polling the multi-name LIST ("names", an extension beyond
// CONTRACT §2), and each set that changed goes to that name's watchers. So a
// router following 10,000 systems holds one watch connection, not 10,000.
//
// A discoveryd that refuses "names" with status 3 (one older than the
// extension) gets what it knows: one single-name long poll per watch
// (RpcNameWatch), from then on.
#include "discovery/discovery.h"
#include "discovery/protocol_json.h"
#include "rpc/reconnecting_connection.h"

#include <boost/asio/steady_timer.hpp>

#include <memory>
#include <optional>
#include <unordered_map>
#include <vector>

namespace routing::discovery {

class RpcNameWatch;

class RpcWatchHub : public std::enable_shared_from_this<RpcWatchHub> {
 public:
  RpcWatchHub(boost::asio::any_io_executor executor, std::string address, DiscoveryOptions options);
  // Any thread. The set comes on the executor, as every later one.
  std::unique_ptr<WatchHandle> watch(std::string name, WatchCallback on_change);

 private:
  struct Watcher;  // one watch() call
  struct Followed {
    std::vector<std::shared_ptr<Watcher>> watchers;
    std::optional<AddressSet> last;  // delivered to every watcher so far
  };

  // All on the executor.
  void add(const std::shared_ptr<Watcher>& watcher);
  void remove(const std::shared_ptr<Watcher>& watcher);
  void restart_soon();
  void interrupt();
  boost::asio::awaitable<void> run();
  boost::asio::awaitable<bool> poll(const std::shared_ptr<rpc::ClientConnection>& connection);
  boost::asio::awaitable<void> sleep(std::chrono::milliseconds time);
  // Waits out the rest of update_merge_window since the last answer (not
  // before a first answer or for a new name: interrupt() ends the wait).
  boost::asio::awaitable<void> merge_wait();
  std::string poll_args();
  void deliver(const NamedSets& answer);
  void fall_back(const std::string& why);
  void start_name_watch(const std::shared_ptr<Watcher>& watcher, std::optional<AddressSet> last);

  boost::asio::any_io_executor executor_;
  std::string address_;
  DiscoveryOptions options_;
  rpc::ReconnectingConnection connection_;
  boost::asio::steady_timer pause_;  // backoff after a failure
  std::unordered_map<std::string, Followed> names_;
  std::optional<std::uint64_t> index_;  // where the next poll starts; none: ask for every set
  bool full_needed_ = false;            // a new name: the next poll asks for every set
  bool running_ = false;                // run() is under way
  bool polling_ = false;                // a long poll is in flight
  bool merging_ = false;                // merge_wait() is under way
  std::chrono::steady_clock::time_point last_answer_;
  bool interrupted_ = false;            // ... and interrupt() cut it on purpose
  bool restart_posted_ = false;
  bool per_name_ = false;               // discoveryd refused "names": RpcNameWatch per watch
};

}  // namespace routing::discovery
