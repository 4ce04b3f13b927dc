#pragma once
// The etcd:// backend's key layout and the JSON pieces shared by its calls
// and its watch stream. An instance is the key
//   /routing/services/<escaped name>/<address>
// whose value is the address alone when its placement is the default (what
// every version wrote and reads), else the instance object of LIST answers,
//   {"address":...,"zone":...,"weight":N,"meta":{...}}
// (CONTRACT §11). Both forms are read.
#include "discovery/address_set.h"

#include <boost/json/object.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

namespace routing::discovery {

inline constexpr std::string_view etcd_key_prefix = "/routing/services/";

// A name as it appears in keys: '%' becomes "%25" and '/' "%2F", so the
// name's part of a key never contains '/'. A name's keys are then exactly
// those under "<prefix><escaped name>/", and no other name's keys are: without
// the escape, the keys of "echo/sub" lay under the prefix of "echo", whose
// lists and watches saw its instances. Names without '%' or '/' are unchanged.
std::string etcd_key_name(std::string_view name);
// The inverse: the name whose escaped form is `escaped`, or nothing when no
// name escapes to it (a '/', or a '%' not starting "%25" or "%2F").
std::optional<std::string> etcd_name_of_key_name(std::string_view escaped);
// The key of one instance: etcd_key_prefix + etcd_key_name(name) + "/" + address.
std::string etcd_instance_key(std::string_view name, std::string_view address);
// The name an instance key belongs to (nothing for keys of no name).
std::optional<std::string> etcd_name_of_key(std::string_view key);
// The value of an instance's key (see above).
std::string etcd_instance_value(std::string_view address, const Placement& placement);

namespace etcd {

// What one key's value says.
struct Instance {
  std::string address;
  Placement placement;
  bool operator==(const Instance&) const = default;
};
// Reads either form of value; nothing for a JSON value that is malformed or
// breaks the placement rules.
std::optional<Instance> instance_of_value(std::string_view value);

// "<prefix><escaped name>/": every key of `name` and no other's.
std::string name_prefix(std::string_view name);
// {"key", "range_end"} of every key starting with `prefix`.
boost::json::object range_of(const std::string& prefix);
// The key and value of one kv object (nothing if malformed).
std::optional<std::pair<std::string, std::string>> kv_of(const boost::json::object& kv);
// key -> instance of every well-formed kv in a range answer ({"kvs": [...]}).
std::map<std::string, Instance> kvs_of(const boost::json::object& answer);
// The store revision in an answer's header (0 without one).
std::int64_t revision_of(const boost::json::object& answer);
// The sorted, duplicate-free addresses of `kvs` and their placements,
// indexed by `revision`.
AddressSet set_of(const std::map<std::string, Instance>& kvs, std::int64_t revision);

}  // namespace etcd
}  // namespace routing::discovery
