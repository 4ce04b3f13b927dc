#pragma once
// discoveryd's procedures on top of the Registry: JSON arguments, leases
// expiring on time, and LIST long polls that sleep on a timer (no busy work)
// until their name changes.
#include "discovery/registry.h"
#include "rpc/server.h"

#include <boost/asio/steady_timer.hpp>

#include <mutex>
#include <unordered_map>
#include <unordered_set>

namespace routing::discovery {

class DiscoveryService {
 public:
  DiscoveryService() = default;

  // Adds REGISTER, QUERY, LIST and DEREGISTER to `server`.
  void register_procedures(rpc::Server& server);

  // Ends leases on time and wakes the long polls of the names that changed.
  // Runs until stop().
  boost::asio::awaitable<void> run_expiry();

  // Answers every waiting long poll now and ends run_expiry(): call before
  // stopping the server so that draining does not wait for long polls.
  void stop();

  std::size_t waiting_long_polls() const;

 private:
  struct Waiter {
    boost::asio::any_io_executor executor;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };

  boost::asio::awaitable<Reply> do_register(std::string payload);
  boost::asio::awaitable<Reply> do_query(std::string payload);
  boost::asio::awaitable<Reply> do_list(std::string payload);
  boost::asio::awaitable<Reply> do_deregister(std::string payload);
  void wake(const std::string& name);  // mutex_ held
  void wake_all();                     // mutex_ held

  mutable std::mutex mutex_;
  Registry registry_;
  std::unordered_map<std::string, std::unordered_set<Waiter*>> waiters_;
  std::shared_ptr<boost::asio::steady_timer> expiry_timer_;
  bool stopping_ = false;
};

}  // namespace routing::discovery
