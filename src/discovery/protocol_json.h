#pragma once
// The JSON of discoveryd's procedures (CONTRACT §2), kept apart from the
// service and the client so that it can be unit-tested and fuzzed without a
// network: arguments as discoveryd reads them, answers as clients read them.
#include "discovery/address_set.h"
#include "discovery/protocol.h"

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace routing::discovery {

struct RegisterArgs {
  std::string name;
  std::string address;
  std::int64_t ttl_ms = default_ttl_ms;
  Placement placement;  // "zone", "weight", "meta" (CONTRACT §11), each optional
};
struct QueryArgs {
  std::string name;
};
// LIST names one name ("name", CONTRACT §2) or several ("names", an
// extension: the answer is NamedSets); never both.
struct ListArgs {
  std::string name;                                // without "names"
  std::optional<std::vector<std::string>> names;  // valid names, duplicates kept
  std::optional<std::int64_t> index;  // absent: answer at once
  std::int64_t wait_ms = 0;           // already capped at max_wait_ms
};
struct DeregisterArgs {
  std::string name;
  std::string address;
};

// Each reads one procedure's arguments. On bad input it returns nullopt and
// sets `error` to the message of the status 3 answer; it never throws.
std::optional<RegisterArgs> parse_register_args(std::string_view payload, std::string& error);
std::optional<QueryArgs> parse_query_args(std::string_view payload, std::string& error);
// "names" must be a non-empty array of at most `max_names` valid names.
std::optional<ListArgs> parse_list_args(std::string_view payload, std::string& error,
                                        std::size_t max_names = default_max_watch_names);
std::optional<DeregisterArgs> parse_deregister_args(std::string_view payload, std::string& error);

// LIST's answer: {"addresses":[...],"index":N,"instances":[...]}, with one
// instance object (instance_json) per address, in address order.
std::string address_set_json(const AddressSet& set);
// What one instance adds to a LIST answer's frame line: its address as a JSON
// string and its instance object, each frame-escaped and followed by a comma.
// The line is at most list_frame_overhead plus the sum of its instances' costs.
std::size_t list_entry_bytes(std::string_view address, const Placement& placement);
// "0:" and {"addresses":[],"index":N,"instances":[]} with the longest N, rounded up.
inline constexpr std::size_t list_frame_overhead = 80;
// Reads a LIST answer (addresses sorted, placements from "instances"); an
// answer without "instances" (a discoveryd older than CONTRACT §11) gives
// every address the default placement. nullopt if malformed, including an
// instance of an address the answer does not list or a placement that breaks
// its rules (placement_rules.h).
std::optional<AddressSet> parse_address_set(std::string_view json_text);

// One instance as LIST answers and etcd values hold it:
// {"address":...,"zone":...,"weight":N,"meta":{...}} (every field written).
std::string instance_json(std::string_view address, const Placement& placement);
// Reads one; "zone", "weight" and "meta" may be absent (their defaults).
// nullopt if malformed or against the rules.
std::optional<std::pair<std::string, Placement>> parse_instance(std::string_view json_text);

// LIST's answer to "names": {"index":I,"sets":{"echo":<LIST answer>,...}}.
// `index` is the one to send next; `sets` may hold only some of the names.
struct NamedSets {
  std::uint64_t index = 0;
  std::vector<std::pair<std::string, AddressSet>> sets;
  bool operator==(const NamedSets&) const = default;
};
std::string named_sets_json(const NamedSets& answer);
// What one name's set adds to that answer's frame line, at most, given the
// bound of its own LIST answer line (Registry::list_bytes). The line is at
// most list_frame_overhead plus the sum of its sets' costs.
std::size_t named_set_bytes(std::string_view name, std::size_t list_line_bytes);
// Reads it (each set's addresses sorted); nullopt if malformed.
std::optional<NamedSets> parse_named_sets(std::string_view json_text);

// The string field `key` of a JSON object answer (QUERY's "address"), if any.
std::optional<std::string> string_field(std::string_view json_text, std::string_view key);

}  // namespace routing::discovery
