#pragma once
// The client side of discovery: one interface, four backends chosen by URL
// (CONTRACT §5): rpc:// (discoveryd), etcd:// (an etcd v3 cluster),
// book:// (the book's discovery service, CONTRACT §12) and static:// (a fixed
// map); rpcs:// and etcds:// are the first two over TLS (CONTRACT §9). See
// docs/discovery.md.
//
// A Discovery object runs on the executor it was made with; its coroutines
// may be awaited from any executor (they hop over and back). Failures are
// values: 5 (no instance), 14 (discovery unreachable), 4 (timed out),
// 3 (bad arguments), 12 (not supported by this backend).
#include "discovery/address_set.h"

#include <routing/status.h>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <string_view>

namespace routing::rpc::tls {
class Context;
}

namespace routing::discovery {

template <typename T>
struct Result {
  Status status = Status::ok;
  std::string error;  // why, when status is not ok
  T value{};
  bool ok() const noexcept { return status == Status::ok; }
  static Result failure(Status status, std::string error) { return {status, std::move(error), T{}}; }
};

// Called with the full current set on every change (never a delta), on the
// discovery's executor. While discovery is unreachable nothing is called: the
// last set delivered stands.
// A set counts as changed when its addresses or any placement differ (a
// refresh that moves an instance to another zone or weight is a change).
using WatchCallback = std::function<void(const AddressSet&)>;

// The same instances with the same placements, whatever the indexes: what a
// watch compares before delivering a set again.
inline bool same_instances(const AddressSet& a, const AddressSet& b) {
  return a.addresses == b.addresses && a.placements == b.placements;
}

// Stops its watch when stopped or destroyed; safe from any thread.
class WatchHandle {
 public:
  virtual ~WatchHandle() = default;
  virtual void stop() = 0;
};

class Discovery {
 public:
  virtual ~Discovery() = default;

  // One live address of `name`, picked at random.
  virtual boost::asio::awaitable<Result<std::string>> query(std::string name) = 0;
  virtual boost::asio::awaitable<Result<AddressSet>> list(std::string name) = 0;

  // Registers `address` under `name` for `ttl` with `placement` (its zone,
  // weight and meta, CONTRACT §11), or refreshes that lease; a refresh with
  // another placement replaces it. Returns the lease time granted. A
  // placement that breaks its rules (placement_rules.h) is status 3.
  // (By value, like the strings: a coroutine keeps its parameters, and a
  // reference to a caller's temporary would dangle once the awaitable
  // outlives the full expression that made it.)
  virtual boost::asio::awaitable<Result<std::chrono::milliseconds>> announce(
      std::string name, std::string address, std::chrono::milliseconds ttl, Placement placement) = 0;
  virtual boost::asio::awaitable<Result<bool>> withdraw(std::string name, std::string address) = 0;

  virtual std::unique_ptr<WatchHandle> watch(std::string name, WatchCallback on_change) = 0;

  // Closes what the backend keeps open between calls, so that its event loop
  // can finish. Calls after it still work (they reconnect).
  virtual void shutdown() {}

  virtual boost::asio::any_io_executor executor() const = 0;
  // The URL this was made from, for logs.
  virtual std::string describe() const = 0;
};

// Timeouts and retry pacing shared by the backends.
struct DiscoveryOptions {
  std::chrono::milliseconds call_timeout{2000};
  std::chrono::milliseconds retry_initial{100};  // first pause after a failure
  std::chrono::milliseconds retry_max{5000};     // pauses double up to this
  std::chrono::milliseconds long_poll{30000};    // rpc:// watch: one LIST wait
  // rpc:// watch: a poll starts at least this long after the last answer,
  // so changes arriving meanwhile come together in one answer (a change
  // after a quiet spell still comes at once). Each answer carries whole sets:
  // a system of 1,000 backends changing 1,000 times a second was re-read and
  // re-published 400 times a second.
  std::chrono::milliseconds update_merge_window{100};
  // rpcs:// and etcds://: the client TLS (CA to verify the server, client
  // certificate if any). Ignored by the plain schemes; required by the TLS ones.
  std::shared_ptr<const rpc::tls::Context> tls;
};

// Makes the backend a URL names. Throws std::invalid_argument with a readable
// reason for a malformed URL or an unknown scheme.
std::unique_ptr<Discovery> make_discovery(std::string_view url, boost::asio::any_io_executor executor,
                                          DiscoveryOptions options = {});

}  // namespace routing::discovery
