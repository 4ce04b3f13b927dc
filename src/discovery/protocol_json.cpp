#include "discovery/protocol_json.h"

#include "common/json_args.h"
#include "discovery/placement_rules.h"
#include "rpc/codec.h"
#include "rpc/host_port.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>

#include <algorithm>

namespace routing::discovery {
namespace json = boost::json;

namespace {

// Why `name` (called `what` in the message) is not a valid name: a name is a
// non-empty string of bounded size.
std::optional<std::string> name_problem(std::string_view name, const std::string& what) {
  if (name.empty()) return what + " must not be empty";
  if (name.size() > max_name_bytes) return what + " is too long";
  return std::nullopt;
}

// The "name" field.
std::string read_name(common::JsonArgs& args) {
  std::string name = args.required_string("name");
  if (!args.ok()) return name;
  if (auto problem = name_problem(name, "field \"name\"")) args.fail(*problem);
  return name;
}

// The "names" field: 1..max_names valid names.
std::vector<std::string> read_names(common::JsonArgs& args, std::size_t max_names) {
  const json::array* array = args.optional_array("names");
  if (array == nullptr) return {};
  if (array->empty()) args.fail("field \"names\" must not be empty");
  if (array->size() > max_names) {
    args.fail("field \"names\" lists too many names (" + std::to_string(array->size()) + ", at most " +
              std::to_string(max_names) + ")");
  }
  std::vector<std::string> names;
  for (std::size_t i = 0; args.ok() && i < array->size(); ++i) {
    const std::string what = "names[" + std::to_string(i) + "]";
    if (!(*array)[i].is_string()) {
      args.fail(what + " must be a string");
    } else if (auto problem = name_problem((*array)[i].get_string(), what)) {
      args.fail(*problem);
    } else {
      names.emplace_back((*array)[i].get_string());
    }
  }
  return names;
}

// The "address" field: "host:port" with a port a client can connect to.
std::string read_address(common::JsonArgs& args) {
  std::string address = args.required_string("address");
  if (!args.ok()) return address;
  auto parsed = rpc::parse_host_port(address);
  if (!parsed) {
    args.fail("field \"address\" must be host:port");
  } else if (parsed->port == 0) {
    args.fail("field \"address\" needs a port in 1..65535");
  }
  return address;
}

// "zone", "weight" and "meta" (CONTRACT §11): each optional, each checked
// against its rule (zone_error, placement_rules.h).
Placement read_placement(common::JsonArgs& args) {
  Placement placement;
  if (auto zone = args.optional_string("zone")) {
    if (auto error = zone_error(*zone)) args.fail("field \"zone\": " + *error);
    placement.zone = std::move(*zone);
  }
  if (auto weight = args.optional_integer("weight", 1, Placement::max_weight)) {
    placement.weight = static_cast<std::uint32_t>(*weight);
  }
  if (const json::object* meta = args.optional_object("meta")) {
    for (const auto& [key, value] : *meta) {
      if (!value.is_string()) {
        args.fail("field \"meta\" must map keys to strings (\"" + std::string(key) + "\" does not)");
        break;
      }
      placement.meta.insert_or_assign(std::string(key), std::string(value.get_string()));
    }
    if (auto problem = meta_problem(placement.meta)) args.fail("field \"meta\" " + *problem);
  }
  return placement;
}

// `value` when every read succeeded, else nullopt with the first problem in `error`.
template <typename T>
std::optional<T> checked(const common::JsonArgs& args, T value, std::string& error) {
  if (args.ok()) return value;
  error = args.error();
  return std::nullopt;
}

}  // namespace

std::optional<RegisterArgs> parse_register_args(std::string_view payload, std::string& error) {
  common::JsonArgs args(payload);
  RegisterArgs out;
  out.name = read_name(args);
  out.address = read_address(args);
  out.ttl_ms = args.optional_integer("ttl_ms", 1, max_ttl_ms).value_or(default_ttl_ms);
  out.placement = read_placement(args);
  return checked(args, std::move(out), error);
}

std::optional<QueryArgs> parse_query_args(std::string_view payload, std::string& error) {
  common::JsonArgs args(payload);
  QueryArgs out{read_name(args)};
  return checked(args, std::move(out), error);
}

std::optional<ListArgs> parse_list_args(std::string_view payload, std::string& error, std::size_t max_names) {
  common::JsonArgs args(payload);
  ListArgs out;
  if (!args.has("names")) {
    out.name = read_name(args);
  } else if (args.has("name")) {
    args.fail("give either field \"name\" or field \"names\", not both");
  } else {
    out.names = read_names(args, max_names);
  }
  out.index = args.optional_integer("index", 0, INT64_MAX);
  out.wait_ms = std::min(args.optional_integer("wait_ms", 0, INT64_MAX).value_or(0), max_wait_ms);
  return checked(args, std::move(out), error);
}

std::optional<DeregisterArgs> parse_deregister_args(std::string_view payload, std::string& error) {
  common::JsonArgs args(payload);
  DeregisterArgs out;
  out.name = read_name(args);
  out.address = read_address(args);
  return checked(args, std::move(out), error);
}

namespace {

json::object instance_object(std::string_view address, const Placement& placement) {
  json::object meta;
  for (const auto& [key, value] : placement.meta) meta[key] = value;
  return json::object{{"address", address},
                      {"zone", placement.zone},
                      {"weight", placement.weight},
                      {"meta", std::move(meta)}};
}

// One name's LIST answer, alone or inside a multi-name answer.
json::object address_set_object(const AddressSet& set) {
  json::array addresses;
  json::array instances;
  for (const auto& address : set.addresses) {
    addresses.emplace_back(address);
    instances.emplace_back(instance_object(address, set.placement_of(address)));
  }
  return json::object{{"addresses", std::move(addresses)}, {"index", set.index}, {"instances", std::move(instances)}};
}

std::optional<std::uint64_t> index_of(const json::value* index) {
  if (index == nullptr) return std::nullopt;
  if (index->is_uint64()) return index->get_uint64();
  if (index->is_int64() && index->get_int64() >= 0) return static_cast<std::uint64_t>(index->get_int64());
  return std::nullopt;
}

std::optional<std::map<std::string, std::string>> meta_of(const json::value* meta) {
  if (meta == nullptr) return std::map<std::string, std::string>{};
  if (!meta->is_object()) return std::nullopt;
  std::map<std::string, std::string> out;
  for (const auto& [key, value] : meta->get_object()) {
    if (!value.is_string()) return std::nullopt;
    out.insert_or_assign(std::string(key), std::string(value.get_string()));
  }
  return out;
}

// An instance object: the address and its placement, absent fields at their
// defaults; nullopt if a field has the wrong type or the placement breaks a rule.
std::optional<std::pair<std::string, Placement>> instance_of(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  const auto& object = value.get_object();
  auto* address = object.if_contains("address");
  auto* zone = object.if_contains("zone");
  auto* weight = object.if_contains("weight");
  auto meta = meta_of(object.if_contains("meta"));
  if (!address || !address->is_string() || (zone && !zone->is_string()) || !meta) return std::nullopt;
  Placement placement;
  if (zone) placement.zone = zone->get_string();
  if (weight) {
    auto number = index_of(weight);  // a non-negative integer, then within the rule below
    if (!number || *number > Placement::max_weight) return std::nullopt;
    placement.weight = static_cast<std::uint32_t>(*number);
  }
  placement.meta = std::move(*meta);
  if (placement_problem(placement)) return std::nullopt;
  return std::pair{std::string(address->get_string()), std::move(placement)};
}

// "instances" of a LIST answer into `set`, whose addresses are read already.
bool read_instances(const json::value* instances, AddressSet& set) {
  if (instances == nullptr) return true;  // an older discoveryd: every placement the default
  if (!instances->is_array()) return false;
  for (const auto& item : instances->get_array()) {
    auto instance = instance_of(item);
    if (!instance || !std::binary_search(set.addresses.begin(), set.addresses.end(), instance->first)) return false;
    set.place(instance->first, std::move(instance->second));
  }
  return true;
}

std::optional<AddressSet> address_set_of(const json::value& value) {
  if (!value.is_object()) return std::nullopt;
  auto& object = value.get_object();
  auto* addresses = object.if_contains("addresses");
  auto index = index_of(object.if_contains("index"));
  if (!addresses || !addresses->is_array() || !index) return std::nullopt;
  AddressSet set;
  set.index = *index;
  for (const auto& address : addresses->get_array()) {
    if (!address.is_string()) return std::nullopt;
    set.addresses.emplace_back(address.get_string());
  }
  std::sort(set.addresses.begin(), set.addresses.end());
  if (!read_instances(object.if_contains("instances"), set)) return std::nullopt;
  return set;
}

// A JSON string's bytes on a frame line, and the comma after it.
std::size_t json_string_bytes(std::string_view text) {
  return rpc::escape(json::serialize(json::string(text))).size() + 1;
}

}  // namespace

std::string address_set_json(const AddressSet& set) { return json::serialize(address_set_object(set)); }

std::string named_sets_json(const NamedSets& answer) {
  json::object sets;
  for (const auto& [name, set] : answer.sets) sets[name] = address_set_object(set);
  return json::serialize(json::object{{"index", answer.index}, {"sets", std::move(sets)}});
}

std::size_t named_set_bytes(std::string_view name, std::size_t list_line_bytes) {
  return json_string_bytes(name) + 1 + list_line_bytes;  // "name": then the set, within its line's bound
}

std::optional<NamedSets> parse_named_sets(std::string_view json_text) {
  boost::system::error_code ec;
  auto value = json::parse(json_text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  auto& object = value.as_object();
  auto index = index_of(object.if_contains("index"));
  auto* sets = object.if_contains("sets");
  if (!index || !sets || !sets->is_object()) return std::nullopt;
  NamedSets answer{*index, {}};
  for (const auto& [name, set_value] : sets->get_object()) {
    auto set = address_set_of(set_value);
    if (!set) return std::nullopt;
    answer.sets.emplace_back(std::string(name), std::move(*set));
  }
  return answer;
}

std::size_t list_entry_bytes(std::string_view address, const Placement& placement) {
  return json_string_bytes(address) + rpc::escape(json::serialize(instance_object(address, placement))).size() + 1;
}

std::optional<AddressSet> parse_address_set(std::string_view json_text) {
  boost::system::error_code ec;
  auto value = json::parse(json_text, ec);
  if (ec) return std::nullopt;
  return address_set_of(value);
}

std::string instance_json(std::string_view address, const Placement& placement) {
  return json::serialize(instance_object(address, placement));
}

std::optional<std::pair<std::string, Placement>> parse_instance(std::string_view json_text) {
  boost::system::error_code ec;
  auto value = json::parse(json_text, ec);
  if (ec) return std::nullopt;
  return instance_of(value);
}

std::optional<std::string> string_field(std::string_view json_text, std::string_view key) {
  boost::system::error_code ec;
  auto value = json::parse(json_text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  auto* field = value.as_object().if_contains(key);
  if (!field || !field->is_string()) return std::nullopt;
  return std::string(field->get_string());
}

}  // namespace routing::discovery
