#include "discovery/etcd_keys.h"

#include "common/base64.h"
#include "discovery/etcd_http.h"
#include "discovery/protocol_json.h"

#include <algorithm>

namespace routing::discovery {
namespace json = boost::json;

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

std::optional<std::string> etcd_name_of_key_name(std::string_view escaped) {
  std::string name;
  name.reserve(escaped.size());
  for (std::size_t i = 0; i < escaped.size(); ++i) {
    if (escaped[i] == '/') return std::nullopt;
    if (escaped[i] != '%') {
      name += escaped[i];
      continue;
    }
    auto code = escaped.substr(i + 1, 2);
    if (code == "25") name += '%';
    else if (code == "2F") name += '/';
    else return std::nullopt;
    i += 2;
  }
  return name;
}

std::string etcd_instance_key(std::string_view name, std::string_view address) {
  return etcd::name_prefix(name) + std::string(address);
}

std::optional<std::string> etcd_name_of_key(std::string_view key) {
  if (!key.starts_with(etcd_key_prefix)) return std::nullopt;
  key.remove_prefix(etcd_key_prefix.size());
  auto slash = key.find('/');
  if (slash == std::string_view::npos) return std::nullopt;
  return etcd_name_of_key_name(key.substr(0, slash));
}

std::string etcd_instance_value(std::string_view address, const Placement& placement) {
  // The bare address while it says everything: readers older than placements
  // take the value for the address, and still can.
  if (placement.is_default()) return std::string(address);
  return instance_json(address, placement);
}

namespace etcd {
namespace {

// The smallest key greater than every key starting with `prefix`.
std::string prefix_end(std::string prefix) {
  prefix.back() = static_cast<char>(prefix.back() + 1);  // prefixes end in '/', never 0xff
  return prefix;
}

}  // namespace

std::string name_prefix(std::string_view name) {
  return std::string(etcd_key_prefix) + etcd_key_name(name) + "/";
}

json::object range_of(const std::string& prefix) {
  return {{"key", common::base64_encode(prefix)}, {"range_end", common::base64_encode(prefix_end(prefix))}};
}

std::optional<std::pair<std::string, std::string>> kv_of(const json::object& kv) {
  auto* key = kv.if_contains("key");
  auto* value = kv.if_contains("value");
  if (!key || !key->is_string()) return std::nullopt;
  auto decoded_key = common::base64_decode(key->get_string());
  auto decoded_value = value && value->is_string() ? common::base64_decode(value->get_string()) : std::optional<std::string>("");
  if (!decoded_key || !decoded_value) return std::nullopt;
  return std::pair{std::move(*decoded_key), std::move(*decoded_value)};
}

std::optional<Instance> instance_of_value(std::string_view value) {
  if (!value.starts_with('{')) return Instance{std::string(value), {}};  // no host:port starts with '{'
  auto instance = parse_instance(value);
  if (!instance) return std::nullopt;
  return Instance{std::move(instance->first), std::move(instance->second)};
}

std::map<std::string, Instance> kvs_of(const json::object& answer) {
  std::map<std::string, Instance> kvs;
  auto* array = answer.if_contains("kvs");
  if (!array || !array->is_array()) return kvs;
  for (const auto& item : array->as_array()) {
    auto kv = item.is_object() ? kv_of(item.as_object()) : std::nullopt;
    auto instance = kv ? instance_of_value(kv->second) : std::nullopt;
    if (instance) kvs.insert_or_assign(std::move(kv->first), std::move(*instance));
  }
  return kvs;
}

std::int64_t revision_of(const json::object& answer) {
  auto* header = answer.if_contains("header");
  if (!header || !header->is_object()) return 0;
  return etcd_int(header->as_object(), "revision").value_or(0);
}

AddressSet set_of(const std::map<std::string, Instance>& kvs, std::int64_t revision) {
  AddressSet set;
  for (const auto& [key, instance] : kvs) {
    set.addresses.push_back(instance.address);
    set.place(instance.address, instance.placement);
  }
  std::sort(set.addresses.begin(), set.addresses.end());
  set.addresses.erase(std::unique(set.addresses.begin(), set.addresses.end()), set.addresses.end());
  set.index = static_cast<std::uint64_t>(std::max<std::int64_t>(revision, 0));
  return set;
}

}  // namespace etcd
}  // namespace routing::discovery
