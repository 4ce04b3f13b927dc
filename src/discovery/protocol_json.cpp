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

// The "name" field: a non-empty string of bounded size.
std::string read_name(common::JsonArgs& args) {
  std::string name = args.required_string("name");
  if (args.ok() && name.empty()) args.fail("field \"name\" must not be empty");
  if (args.ok() && name.size() > max_name_bytes) args.fail("field \"name\" is too long");
  return name;
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

std::optional<ListArgs> parse_list_args(std::string_view payload, std::string& error) {
  common::JsonArgs args(payload);
  ListArgs out;
  out.name = read_name(args);
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

std::string address_set_json(const AddressSet& set) {
  json::array addresses;
  for (const auto& address : set.addresses) addresses.emplace_back(address);
  return json::serialize(json::object{{"addresses", std::move(addresses)}, {"index", set.index}});
}

std::size_t list_entry_bytes(std::string_view address) {
  return rpc::escape(json::serialize(json::string(address))).size() + 1;
}

std::optional<AddressSet> parse_address_set(std::string_view json_text) {
  boost::system::error_code ec;
  auto value = json::parse(json_text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  auto& object = value.as_object();
  auto* addresses = object.if_contains("addresses");
  auto* index = object.if_contains("index");
  if (!addresses || !addresses->is_array() || !index) return std::nullopt;
  AddressSet set;
  if (index->is_uint64()) {
    set.index = index->get_uint64();
  } else if (index->is_int64() && index->get_int64() >= 0) {
    set.index = static_cast<std::uint64_t>(index->get_int64());
  } else {
    return std::nullopt;
  }
  for (const auto& address : addresses->as_array()) {
    if (!address.is_string()) return std::nullopt;
    set.addresses.emplace_back(address.get_string());
  }
  std::sort(set.addresses.begin(), set.addresses.end());
  return set;
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
