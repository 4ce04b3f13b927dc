#include "discovery/rpc_discovery.h"

#include "discovery/placement_rules.h"
#include "discovery/protocol_json.h"
#include "rpc/address.h"
#include "rpc/timed_call.h"

#include <boost/asio/co_spawn.hpp>
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

// REGISTER's arguments. Zone, weight and meta go only when not the default,
// so a plain registration reads exactly as CONTRACT §2 shows it.
std::string register_args(const std::string& name, const std::string& address, std::chrono::milliseconds ttl,
                          const Placement& placement) {
  auto args = json::object{{"name", name}, {"address", address}, {"ttl_ms", ttl.count()}};
  if (!placement.zone.empty()) args["zone"] = placement.zone;
  if (placement.weight != Placement::default_weight) args["weight"] = placement.weight;
  if (!placement.meta.empty()) {
    json::object meta;
    for (const auto& [key, value] : placement.meta) meta[key] = value;
    args["meta"] = std::move(meta);
  }
  return json::serialize(args);
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
      connection_(executor_, address_, options.call_timeout, rpc::default_max_frame_bytes, {}, false, options.tls),
      watches_(std::make_shared<RpcWatchHub>(executor_, address_, options)) {}

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
    std::string name, std::string address, std::chrono::milliseconds ttl, Placement placement) {
  if (auto problem = placement_problem(placement)) {  // said here, whatever discoveryd's version
    co_return Result<std::chrono::milliseconds>::failure(Status::invalid_argument, "placement: " + *problem);
  }
  std::string args = register_args(name, address, ttl, placement);
  Reply reply = co_await unary(register_procedure, std::move(args));
  if (!reply.ok()) co_return failure_of<std::chrono::milliseconds>(reply);
  co_return Result<std::chrono::milliseconds>{Status::ok, {}, ttl};
}

asio::awaitable<Result<bool>> RpcDiscovery::withdraw(std::string name, std::string address) {
  auto args = json::object{{"name", name}, {"address", address}};
  Reply reply = co_await unary(deregister_procedure, json::serialize(args));
  if (!reply.ok()) co_return failure_of<bool>(reply);
  co_return Result<bool>{Status::ok, {}, true};
}

std::unique_ptr<WatchHandle> RpcDiscovery::watch(std::string name, WatchCallback on_change) {
  return watches_->watch(std::move(name), std::move(on_change));
}

}  // namespace routing::discovery
