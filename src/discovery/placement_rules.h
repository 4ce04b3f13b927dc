#pragma once
// The rules a Placement's fields obey wherever one is made: REGISTER's
// arguments, LIST answers, etcd values, static:// URLs and echod's flags
// (CONTRACT §11). One place, so that all of them accept the same placements.
// The zone's rule is zone_error() (address_set.h, shared with routerd's
// --zone); weight and meta are here.
#include "discovery/address_set.h"

#include <cstdint>
#include <map>
#include <optional>
#include <string>

namespace routing::discovery {

// Why `weight` is no weight (a phrase to put after the field's name: "must
// be in 1..1000 (got 0)"), or nullopt.
std::optional<std::string> weight_problem(std::int64_t weight);
// Keys and values together, the measure of Placement::max_meta_bytes.
std::size_t meta_bytes(const std::map<std::string, std::string>& meta);
// Why `meta` is too large (a phrase as above), or nullopt.
std::optional<std::string> meta_problem(const std::map<std::string, std::string>& meta);
// The first problem of any field, the field named ("weight must ..."), or nullopt.
std::optional<std::string> placement_problem(const Placement& placement);

}  // namespace routing::discovery
