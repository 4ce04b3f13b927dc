#include "discovery/rpc_name_watch.h"

#include "discovery/discovery_health.h"

#include "common/backoff.h"
#include "common/log.h"
#include "discovery/protocol_json.h"
#include "rpc/address.h"
#include "rpc/host_port.h"
#include "rpc/timed_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace routing::discovery {
namespace asio = boost::asio;
namespace json = boost::json;
using rpc::use_nothrow;

std::shared_ptr<RpcNameWatch> RpcNameWatch::start(asio::any_io_executor executor, std::string address,
                                                  std::string name, DiscoveryOptions options,
                                                  WatchCallback on_change, std::optional<AddressSet> last) {
  auto watch = std::make_shared<RpcNameWatch>(std::move(executor), std::move(address), std::move(name), options,
                                              std::move(on_change));
  asio::co_spawn(watch->executor_, watch->run(std::move(last)), asio::detached);
  return watch;
}

RpcNameWatch::RpcNameWatch(asio::any_io_executor executor, std::string address, std::string name,
                           DiscoveryOptions options, WatchCallback on_change)
    : executor_(std::move(executor)), address_(std::move(address)), name_(std::move(name)), options_(options),
      on_change_(std::move(on_change)), pause_(executor_) {}

void RpcNameWatch::stop() {
  if (stopped_.exchange(true)) return;
  asio::post(executor_, [self = shared_from_this()] {
    if (self->connection_) self->connection_->close();
    self->pause_.cancel();
  });
}

asio::awaitable<void> RpcNameWatch::sleep(std::chrono::milliseconds time) {
  pause_.expires_after(time);
  co_await pause_.async_wait(use_nothrow);
}

// LIST long polls, delivering the full set whenever it differs from the last
// one delivered (addresses or placements).
asio::awaitable<void> RpcNameWatch::run(std::optional<AddressSet> last) {
  auto self = shared_from_this();
  common::Backoff backoff(options_.retry_initial, options_.retry_max);
  std::optional<std::uint64_t> index;  // unknown after a reconnect: ask without waiting
  while (!stopped_) {
    if (!connection_ || !connection_->is_open()) {
      index.reset();
      connection_ = rpc::ClientConnection::create(executor_);
      if (options_.tls) {
        auto host = rpc::parse_host_port(address_);
        connection_->use_tls(options_.tls, host ? host->host : address_);
      }
      rpc::error_code ec;
      try {
        ec = co_await rpc::connect_within(connection_, rpc::resolve_endpoint(address_), options_.call_timeout);
      } catch (const std::exception&) {
        ec = asio::error::host_not_found;
      }
      if (ec) {
        DiscoveryHealth::process().failed("watch of '" + name_ + "' at discoveryd " + address_, ec.message());
        co_await sleep(backoff.next());
        continue;
      }
    }
    json::object args{{"name", name_}};
    if (index) {
      args["index"] = *index;
      args["wait_ms"] = options_.long_poll.count();
    }
    Reply reply = co_await rpc::call_within(connection_, list_procedure, json::serialize(args),
                                            options_.long_poll + options_.call_timeout);
    if (stopped_) break;
    auto set = reply.ok() ? parse_address_set(reply.payload) : std::nullopt;
    if (!set && reply.payload == draining_reply) {
      common::log().info("watch '{}': discoveryd at {} is draining: reconnecting", name_, address_);
    } else if (!set) {
      DiscoveryHealth::process().failed("LIST of '" + name_ + "' at discoveryd " + address_, reply.payload);
    }
    if (!set) {
      connection_->close();
      co_await sleep(backoff.next());
      continue;
    }
    backoff.reset();
    DiscoveryHealth::process().succeeded();
    index = set->index;
    if (!last || !same_instances(*last, *set)) {
      last = *set;
      on_change_(*set);
    }
  }
  if (connection_) connection_->close();
}

}  // namespace routing::discovery
