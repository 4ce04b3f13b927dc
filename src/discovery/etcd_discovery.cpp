#include "discovery/etcd_discovery.h"

#include "common/base64.h"
#include "discovery/etcd_watch_hub.h"
#include "discovery/placement_rules.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <random>

namespace routing::discovery {
namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

using etcd::kvs_of;
using etcd::name_prefix;
using etcd::range_of;
using etcd::revision_of;
using etcd::set_of;

template <typename T>
Result<T> pass_failure(const Result<json::object>& answer) {
  return Result<T>::failure(answer.status, answer.error);
}

}  // namespace

EtcdDiscovery::EtcdDiscovery(asio::any_io_executor executor, std::vector<std::string> endpoints,
                             DiscoveryOptions options)
    : executor_(std::move(executor)), endpoints_(std::move(endpoints)), options_(options),
      http_(std::make_shared<EtcdHttp>(executor_, endpoints_, options.call_timeout, options.tls)),
      watches_(std::make_shared<EtcdWatchHub>(executor_, http_, options)) {}

std::string EtcdDiscovery::describe() const {
  std::string url = "etcd://";
  for (std::size_t i = 0; i < endpoints_.size(); ++i) url += (i ? "," : "") + endpoints_[i];
  return url;
}

asio::awaitable<Result<AddressSet>> EtcdDiscovery::list(std::string name) {
  auto http = http_;
  auto answer = co_await asio::co_spawn(executor_, http->post("/v3/kv/range", range_of(name_prefix(name))),
                                        asio::use_awaitable);
  if (!answer.ok()) co_return pass_failure<AddressSet>(answer);
  co_return Result<AddressSet>{Status::ok, {}, set_of(kvs_of(answer.value), revision_of(answer.value))};
}

asio::awaitable<Result<std::string>> EtcdDiscovery::query(std::string name) {
  auto listed = co_await list(name);
  if (!listed.ok()) co_return Result<std::string>::failure(listed.status, listed.error);
  auto& addresses = listed.value.addresses;
  if (addresses.empty()) co_return Result<std::string>::failure(Status::not_found, "no live instance of '" + name + "'");
  thread_local std::mt19937 rng{std::random_device{}()};
  co_return Result<std::string>{Status::ok, {}, addresses[rng() % addresses.size()]};
}

asio::awaitable<Result<json::object>> EtcdDiscovery::put_instance(const std::string& key, const std::string& address,
                                                                  const Placement& placement, std::int64_t lease) {
  json::object put_body{{"key", common::base64_encode(key)},
                        {"value", common::base64_encode(etcd_instance_value(address, placement))},
                        {"lease", std::to_string(lease)}};
  co_return co_await http_->post("/v3/kv/put", std::move(put_body));
}

asio::awaitable<Result<milliseconds>> EtcdDiscovery::grant_and_put(const std::string& key,
                                                                   const std::string& address,
                                                                   const Placement& placement, milliseconds ttl) {
  auto seconds = std::max<std::int64_t>(1, (ttl.count() + 999) / 1000);
  // (Named bodies: GCC 12 cannot keep braced temporaries across co_await.)
  json::object grant_body{{"TTL", seconds}};
  auto granted = co_await http_->post("/v3/lease/grant", std::move(grant_body));
  if (!granted.ok()) co_return pass_failure<milliseconds>(granted);
  auto id = etcd_int(granted.value, "ID");
  auto granted_seconds = etcd_int(granted.value, "TTL").value_or(seconds);
  if (!id) co_return Result<milliseconds>::failure(Status::internal, "etcd granted a lease without an ID");
  auto put = co_await put_instance(key, address, placement, *id);
  if (!put.ok()) co_return pass_failure<milliseconds>(put);
  leases_[key] = Lease{*id, placement};
  co_return Result<milliseconds>{Status::ok, {}, milliseconds(granted_seconds * 1000)};
}

asio::awaitable<Result<milliseconds>> EtcdDiscovery::announce(std::string name, std::string address,
                                                              milliseconds ttl, Placement placement) {
  if (auto problem = placement_problem(placement)) {
    co_return Result<milliseconds>::failure(Status::invalid_argument, "placement: " + *problem);
  }
  co_return co_await asio::co_spawn(
      executor_, announce_here(std::move(name), std::move(address), ttl, std::move(placement)), asio::use_awaitable);
}

// A refresh keeps the lease alive; one with a new placement also puts the key
// again, on the same lease, so that watchers see the change.
asio::awaitable<Result<milliseconds>> EtcdDiscovery::announce_here(std::string name, std::string address,
                                                                   milliseconds ttl, Placement placement) {
  std::string key = etcd_instance_key(name, address);
  if (auto lease = leases_.find(key); lease != leases_.end()) {
    const std::int64_t id = lease->second.id;
    json::object keepalive{{"ID", std::to_string(id)}};
    auto kept = co_await http_->post("/v3/lease/keepalive", std::move(keepalive));
    if (!kept.ok()) co_return pass_failure<milliseconds>(kept);
    auto* result = kept.value.if_contains("result");
    auto left = result && result->is_object() ? etcd_int(result->as_object(), "TTL") : std::nullopt;
    if (left && *left > 0) {
      lease = leases_.find(key);  // a withdraw may have run meanwhile
      if (lease != leases_.end() && lease->second.placement != placement) {
        auto put = co_await put_instance(key, address, placement, id);
        if (!put.ok()) co_return pass_failure<milliseconds>(put);
        if (lease = leases_.find(key); lease != leases_.end()) lease->second.placement = placement;
      }
      co_return Result<milliseconds>{Status::ok, {}, milliseconds(*left * 1000)};
    }
    leases_.erase(key);  // expired (or etcd lost it): start over
  }
  co_return co_await grant_and_put(key, address, placement, ttl);
}

asio::awaitable<Result<bool>> EtcdDiscovery::withdraw(std::string name, std::string address) {
  co_return co_await asio::co_spawn(executor_, withdraw_here(std::move(name), std::move(address)),
                                    asio::use_awaitable);
}

asio::awaitable<Result<bool>> EtcdDiscovery::withdraw_here(std::string name, std::string address) {
  std::string key = etcd_instance_key(name, address);
  json::object delete_body{{"key", common::base64_encode(key)}};
  auto deleted = co_await http_->post("/v3/kv/deleterange", std::move(delete_body));
  if (!deleted.ok()) co_return pass_failure<bool>(deleted);
  if (auto lease = leases_.find(key); lease != leases_.end()) {
    json::object revoke{{"ID", std::to_string(lease->second.id)}};
    leases_.erase(lease);
    co_await http_->post("/v3/lease/revoke", std::move(revoke));
  }
  co_return Result<bool>{Status::ok, {}, etcd_int(deleted.value, "deleted").value_or(0) > 0};
}

std::unique_ptr<WatchHandle> EtcdDiscovery::watch(std::string name, WatchCallback on_change) {
  return watches_->watch(std::move(name), std::move(on_change));
}

}  // namespace routing::discovery
