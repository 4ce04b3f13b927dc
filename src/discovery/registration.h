#pragma once
// Keeps one instance registered: announces it, refreshes the lease at a third
// of its time, retries with exponential backoff and jitter for as long as
// discovery is down (never giving up, never throwing), and so re-registers by
// itself after discovery restarts. stop() withdraws it. Every announce
// carries the instance's placement (zone, weight, meta: CONTRACT §11).
#include "discovery/discovery.h"

#include <memory>

namespace routing::discovery {

class Registration {
 public:
  Registration(Discovery& discovery, std::string name, std::string address,
               std::chrono::milliseconds ttl, DiscoveryOptions options = {}, Placement placement = {});
  // Stops refreshing; does not withdraw (use stop()). A refresh already in
  // flight still uses the Discovery: destroy that only after stop() (or
  // once its loop has stopped).
  ~Registration();
  Registration(const Registration&) = delete;
  Registration& operator=(const Registration&) = delete;

  void start();
  // Stops refreshing, waits for a refresh in flight, then withdraws the
  // instance (bounded by the discovery's call timeout). Await from anywhere.
  boost::asio::awaitable<void> stop();
  // Blocking stop() for programs shutting down; gives up after `timeout`.
  void stop_blocking(std::chrono::milliseconds timeout);

  // True while the last announce succeeded.
  bool registered() const;

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace routing::discovery
