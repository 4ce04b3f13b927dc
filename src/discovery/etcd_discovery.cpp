#include "discovery/etcd_discovery.h"

#include "common/backoff.h"
#include "discovery/watch_handle.h"
#include "common/base64.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>
#include "common/log.h"

#include <random>

namespace routing::discovery {
namespace asio = boost::asio;
namespace json = boost::json;
using std::chrono::milliseconds;

namespace {

std::string name_prefix(const std::string& name) { return std::string(etcd_key_prefix) + etcd_key_name(name) + "/"; }

// The smallest key greater than every key starting with `prefix`.
std::string prefix_end(std::string prefix) {
  prefix.back() = static_cast<char>(prefix.back() + 1);  // prefixes end in '/', never 0xff
  return prefix;
}

json::object range_of(const std::string& prefix) {
  return {{"key", common::base64_encode(prefix)}, {"range_end", common::base64_encode(prefix_end(prefix))}};
}

// key -> address of every kv in a range answer.
std::map<std::string, std::string> kvs_of(const json::object& answer) {
  std::map<std::string, std::string> kvs;
  auto* array = answer.if_contains("kvs");
  if (!array || !array->is_array()) return kvs;
  for (const auto& item : array->as_array()) {
    if (!item.is_object()) continue;
    auto* key = item.as_object().if_contains("key");
    auto* value = item.as_object().if_contains("value");
    if (!key || !key->is_string()) continue;
    auto decoded_key = common::base64_decode(key->get_string());
    auto decoded_value = value && value->is_string() ? common::base64_decode(value->get_string()) : std::optional<std::string>("");
    if (decoded_key && decoded_value) kvs[*decoded_key] = *decoded_value;
  }
  return kvs;
}

std::int64_t revision_of(const json::object& answer) {
  auto* header = answer.if_contains("header");
  if (!header || !header->is_object()) return 0;
  return etcd_int(header->as_object(), "revision").value_or(0);
}

AddressSet set_of(const std::map<std::string, std::string>& kvs, std::int64_t revision) {
  AddressSet set;
  for (const auto& [key, address] : kvs) set.addresses.push_back(address);
  std::sort(set.addresses.begin(), set.addresses.end());
  set.addresses.erase(std::unique(set.addresses.begin(), set.addresses.end()), set.addresses.end());
  set.index = static_cast<std::uint64_t>(std::max<std::int64_t>(revision, 0));
  return set;
}

template <typename T>
Result<T> pass_failure(const Result<json::object>& answer) {
  return Result<T>::failure(answer.status, answer.error);
}

}  // namespace

std::string etcd_key_name(std::string_view name) {
  std::string out;
  out.reserve(name.size());
  for (char c : name) {
    if (c == '%') out += "%25";
    else if (c == '/') out += "%2F";
    else out += c;
  }
  return out;
}

std::string etcd_instance_key(std::string_view name, std::string_view address) {
  return std::string(etcd_key_prefix) + etcd_key_name(name) + "/" + std::string(address);
}

EtcdDiscovery::EtcdDiscovery(asio::any_io_executor executor, std::vector<std::string> endpoints,
                             DiscoveryOptions options)
    : executor_(std::move(executor)), endpoints_(std::move(endpoints)), options_(options),
      http_(std::make_shared<EtcdHttp>(executor_, endpoints_, options.call_timeout)) {}

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

asio::awaitable<Result<milliseconds>> EtcdDiscovery::grant_and_put(const std::string& key,
                                                                   const std::string& address,
                                                                   milliseconds ttl) {
  auto seconds = std::max<std::int64_t>(1, (ttl.count() + 999) / 1000);
  // (Named bodies: GCC 12 cannot keep braced temporaries across co_await.)
  json::object grant_body{{"TTL", seconds}};
  auto granted = co_await http_->post("/v3/lease/grant", std::move(grant_body));
  if (!granted.ok()) co_return pass_failure<milliseconds>(granted);
  auto id = etcd_int(granted.value, "ID");
  auto granted_seconds = etcd_int(granted.value, "TTL").value_or(seconds);
  if (!id) co_return Result<milliseconds>::failure(Status::internal, "etcd granted a lease without an ID");
  json::object put_body{{"key", common::base64_encode(key)},
                        {"value", common::base64_encode(address)},
                        {"lease", std::to_string(*id)}};
  auto put = co_await http_->post("/v3/kv/put", std::move(put_body));
  if (!put.ok()) co_return pass_failure<milliseconds>(put);
  leases_[key] = *id;
  co_return Result<milliseconds>{Status::ok, {}, milliseconds(granted_seconds * 1000)};
}

asio::awaitable<Result<milliseconds>> EtcdDiscovery::announce(std::string name, std::string address,
                                                              milliseconds ttl) {
  co_return co_await asio::co_spawn(executor_, announce_here(std::move(name), std::move(address), ttl),
                                    asio::use_awaitable);
}

asio::awaitable<Result<milliseconds>> EtcdDiscovery::announce_here(std::string name, std::string address,
                                                                   milliseconds ttl) {
  std::string key = etcd_instance_key(name, address);
  if (auto lease = leases_.find(key); lease != leases_.end()) {
    json::object keepalive{{"ID", std::to_string(lease->second)}};
    auto kept = co_await http_->post("/v3/lease/keepalive", std::move(keepalive));
    if (!kept.ok()) co_return pass_failure<milliseconds>(kept);
    auto* result = kept.value.if_contains("result");
    auto left = result && result->is_object() ? etcd_int(result->as_object(), "TTL") : std::nullopt;
    if (left && *left > 0) co_return Result<milliseconds>{Status::ok, {}, milliseconds(*left * 1000)};
    leases_.erase(key);  // expired (or etcd lost it): start over
  }
  co_return co_await grant_and_put(key, address, ttl);
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
    json::object revoke{{"ID", std::to_string(lease->second)}};
    leases_.erase(lease);
    co_await http_->post("/v3/lease/revoke", std::move(revoke));
  }
  co_return Result<bool>{Status::ok, {}, etcd_int(deleted.value, "deleted").value_or(0) > 0};
}

namespace {

struct EtcdWatch : WatchHandle, std::enable_shared_from_this<EtcdWatch> {
  asio::any_io_executor executor;
  std::shared_ptr<EtcdHttp> http;
  std::string prefix;
  DiscoveryOptions options;
  WatchCallback on_change;
  std::atomic<bool> stopped{false};
  std::shared_ptr<StreamCancel> cancel = std::make_shared<StreamCancel>();
  asio::steady_timer pause;
  std::map<std::string, std::string> kvs;
  std::optional<AddressSet> last;

  EtcdWatch(asio::any_io_executor ex, std::shared_ptr<EtcdHttp> h, std::string p, DiscoveryOptions o,
            WatchCallback cb)
      : executor(std::move(ex)), http(std::move(h)), prefix(std::move(p)), options(o),
        on_change(std::move(cb)), pause(executor) {}

  void stop() override {
    if (stopped.exchange(true)) return;
    asio::post(executor, [self = shared_from_this()] {
      self->cancel->cancel();
      self->pause.cancel();
    });
  }

  void deliver(std::int64_t revision) {
    AddressSet set = set_of(kvs, revision);
    if (last && last->addresses == set.addresses) return;
    last = set;
    on_change(set);
  }

  // Applies one watch message; false when etcd cancelled the watch.
  bool apply(const json::object& message) {
    auto* result = message.if_contains("result");
    if (!result || !result->is_object()) return true;
    auto& body = result->as_object();
    if (auto* canceled = body.if_contains("canceled"); canceled && canceled->is_bool() && canceled->get_bool()) {
      return false;  // e.g. our revision was compacted: read the prefix again
    }
    auto* events = body.if_contains("events");
    if (!events || !events->is_array()) return true;
    for (const auto& event : events->as_array()) {
      if (!event.is_object()) continue;
      auto* type = event.as_object().if_contains("type");
      auto* kv = event.as_object().if_contains("kv");
      if (!kv || !kv->is_object()) continue;
      auto changed = kvs_of(json::object{{"kvs", json::array{*kv}}});
      bool is_delete = type && type->is_string() && type->get_string() == "DELETE";
      auto* key = kv->as_object().if_contains("key");
      auto decoded = key && key->is_string() ? common::base64_decode(key->get_string()) : std::nullopt;
      if (is_delete && decoded) kvs.erase(*decoded);
      if (!is_delete) kvs.insert_or_assign(changed.begin()->first, changed.begin()->second);
    }
    deliver(revision_of(body));
    return true;
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    common::Backoff backoff(options.retry_initial, options.retry_max);
    while (!stopped) {
      auto listed = co_await http->post("/v3/kv/range", range_of(prefix));
      if (stopped) break;
      if (!listed.ok()) {
        common::log().debug("etcd watch of {}: {}", prefix, listed.error);
        pause.expires_after(backoff.next());
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
        continue;
      }
      kvs = kvs_of(listed.value);
      auto revision = revision_of(listed.value);
      deliver(revision);
      json::object create = range_of(prefix);
      create["start_revision"] = std::to_string(revision + 1);
      json::object watch_body{{"create_request", std::move(create)}};
      auto ended = co_await http->stream("/v3/watch", std::move(watch_body),
                                         [this](const json::object& m) { return apply(m); }, cancel);
      if (stopped) break;
      if (!ended.ok()) {
        common::log().debug("etcd watch of {} broke: {}", prefix, ended.error);
        pause.expires_after(backoff.next());
        co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
      } else {
        backoff.reset();
      }
    }
  }
};

}  // namespace

std::unique_ptr<WatchHandle> EtcdDiscovery::watch(std::string name, WatchCallback on_change) {
  auto state = std::make_shared<EtcdWatch>(executor_, http_, name_prefix(name), options_, std::move(on_change));
  asio::co_spawn(executor_, state->run(), asio::detached);
  return handle_for(std::move(state));
}

}  // namespace routing::discovery
