#include "discovery/protocol_json.h"

#include "common/json_args.h"
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

// One name's LIST answer, alone or inside a multi-name answer.
json::object address_set_object(const AddressSet& set) {
  json::array addresses;
  for (const auto& address : set.addresses) addresses.emplace_back(address);
  return json::object{{"addresses", std::move(addresses)}, {"index", set.index}};
}

std::optional<std::uint64_t> index_of(const json::value* index) {
  if (index == nullptr) return std::nullopt;
  if (index->is_uint64()) return index->get_uint64();
  if (index->is_int64() && index->get_int64() >= 0) return static_cast<std::uint64_t>(index->get_int64());
  return std::nullopt;
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
  return set;
}

}  // namespace

std::string address_set_json(const AddressSet& set) { return json::serialize(address_set_object(set)); }

std::string named_sets_json(const NamedSets& answer) {
  json::object sets;
  for (const auto& [name, set] : answer.sets) sets[name] = address_set_object(set);
  return json::serialize(json::object{{"index", answer.index}, {"sets", std::move(sets)}});
}

std::size_t named_set_bytes(std::string_view name, std::size_t list_line_bytes) {
  return list_entry_bytes(name) + 1 + list_line_bytes;  // "name": then the set, within its line's bound
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

std::size_t list_entry_bytes(std::string_view address) {
  return rpc::escape(json::serialize(json::string(address))).size() + 1;
}

std::optional<AddressSet> parse_address_set(std::string_view json_text) {
  boost::system::error_code ec;
  auto value = json::parse(json_text, ec);
  if (ec) return std::nullopt;
  return address_set_of(value);
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
