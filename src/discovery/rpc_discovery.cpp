#include "discovery/rpc_discovery.h"

#include "common/backoff.h"
#include "discovery/watch_handle.h"
#include "discovery/protocol_json.h"
#include "rpc/address.h"
#include "rpc/timed_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include "common/log.h"

namespace routing::discovery {
namespace asio = boost::asio;
namespace json = boost::json;
using rpc::use_nothrow;

namespace {

std::string name_args(const std::string& name) {
  return json::serialize(json::object{{"name", name}});
}

template <typename T>
Result<T> failure_of(const Reply& reply) {
  return Result<T>::failure(reply.status, reply.payload);
}

template <typename T>
Result<T> malformed_answer(const Reply& reply) {
  return Result<T>::failure(Status::internal, "discoveryd sent a malformed answer: " + reply.payload);
}

}  // namespace

RpcDiscovery::RpcDiscovery(asio::any_io_executor executor, std::string address, DiscoveryOptions options)
    : executor_(std::move(executor)),
      address_(std::move(address)),
      options_(options),
      connection_(executor_, address_, options.call_timeout) {}

void RpcDiscovery::shutdown() {
  asio::post(executor_, [this] {
    connection_.close();
  });
}

asio::awaitable<Reply> RpcDiscovery::unary(std::uint32_t procedure, std::string payload) {
  // Hop onto our executor: the connection lives there. (A member coroutine,
  // not a capturing lambda: GCC 12 destroys coroutine lambda captures twice.)
  co_return co_await asio::co_spawn(executor_, unary_here(procedure, std::move(payload)),
                                    asio::use_awaitable);
}

asio::awaitable<Reply> RpcDiscovery::unary_here(std::uint32_t procedure, std::string payload) {
  std::string error;
  auto connection = co_await connection_.get(error);
  if (!connection) co_return Reply::error(Status::unavailable, "discoveryd at " + error);
  co_return co_await rpc::call_within(connection, procedure, payload, options_.call_timeout);
}

asio::awaitable<Result<std::string>> RpcDiscovery::query(std::string name) {
  Reply reply = co_await unary(query_procedure, name_args(name));
  if (!reply.ok()) co_return failure_of<std::string>(reply);
  auto address = string_field(reply.payload, "address");
  if (!address) co_return malformed_answer<std::string>(reply);
  co_return Result<std::string>{Status::ok, {}, *address};
}

asio::awaitable<Result<AddressSet>> RpcDiscovery::list(std::string name) {
  Reply reply = co_await unary(list_procedure, name_args(name));
  if (!reply.ok()) co_return failure_of<AddressSet>(reply);
  auto set = parse_address_set(reply.payload);
  if (!set) co_return malformed_answer<AddressSet>(reply);
  co_return Result<AddressSet>{Status::ok, {}, *set};
}

asio::awaitable<Result<std::chrono::milliseconds>> RpcDiscovery::announce(
    std::string name, std::string address, std::chrono::milliseconds ttl) {
  auto args = json::object{{"name", name}, {"address", address}, {"ttl_ms", ttl.count()}};
  Reply reply = co_await unary(register_procedure, json::serialize(args));
  if (!reply.ok()) co_return failure_of<std::chrono::milliseconds>(reply);
  co_return Result<std::chrono::milliseconds>{Status::ok, {}, ttl};
}

asio::awaitable<Result<bool>> RpcDiscovery::withdraw(std::string name, std::string address) {
  auto args = json::object{{"name", name}, {"address", address}};
  Reply reply = co_await unary(deregister_procedure, json::serialize(args));
  if (!reply.ok()) co_return failure_of<bool>(reply);
  co_return Result<bool>{Status::ok, {}, true};
}

namespace {

// A watch: LIST long polls on a connection of its own, delivering the full
// set whenever it differs from the last one delivered.
struct RpcWatch : WatchHandle, std::enable_shared_from_this<RpcWatch> {
  asio::any_io_executor executor;
  std::string address;
  std::string name;
  DiscoveryOptions options;
  WatchCallback on_change;
  std::atomic<bool> stopped{false};
  std::shared_ptr<rpc::ClientConnection> connection;
  asio::steady_timer pause;

  RpcWatch(asio::any_io_executor ex, std::string addr, std::string n, DiscoveryOptions opts,
           WatchCallback cb)
      : executor(std::move(ex)), address(std::move(addr)), name(std::move(n)), options(opts),
        on_change(std::move(cb)), pause(executor) {}

  void stop() override {
    if (stopped.exchange(true)) return;
    asio::post(executor, [self = shared_from_this()] {
      if (self->connection) self->connection->close();
      self->pause.cancel();
    });
  }

  asio::awaitable<void> sleep(std::chrono::milliseconds time) {
    pause.expires_after(time);
    co_await pause.async_wait(use_nothrow);
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    common::Backoff backoff(options.retry_initial, options.retry_max);
    std::optional<AddressSet> last;
    std::optional<std::uint64_t> index;  // unknown after a reconnect: ask without waiting
    while (!stopped) {
      if (!connection || !connection->is_open()) {
        index.reset();
        connection = rpc::ClientConnection::create(executor);
        rpc::error_code ec;
        try {
          ec = co_await rpc::connect_within(connection, rpc::resolve_endpoint(address), options.call_timeout);
        } catch (const std::exception&) {
          ec = asio::error::host_not_found;
        }
        if (ec) {
          common::log().debug("watch '{}': discoveryd at {} unreachable: {}", name, address, ec.message());
          co_await sleep(backoff.next());
          continue;
        }
      }
      json::object args{{"name", name}};
      if (index) {
        args["index"] = *index;
        args["wait_ms"] = options.long_poll.count();
      }
      Reply reply = co_await rpc::call_within(connection, list_procedure, json::serialize(args),
                                              options.long_poll + options.call_timeout);
      if (stopped) break;
      auto set = reply.ok() ? parse_address_set(reply.payload) : std::nullopt;
      if (!set) {
        common::log().debug("watch '{}': LIST failed: {}", name, reply.payload);
        connection->close();
        co_await sleep(backoff.next());
        continue;
      }
      backoff.reset();
      index = set->index;
      if (!last || last->addresses != set->addresses) {
        last = *set;
        on_change(*set);
      }
    }
    if (connection) connection->close();
  }
};

}  // namespace

std::unique_ptr<WatchHandle> RpcDiscovery::watch(std::string name, WatchCallback on_change) {
  auto state = std::make_shared<RpcWatch>(executor_, address_, std::move(name), options_,
                                          std::move(on_change));
  asio::co_spawn(executor_, state->run(), asio::detached);

  return handle_for(std::move(state));
}

}  // namespace routing::discovery
