#include "discovery/placement_rules.h"

namespace routing::discovery {

std::optional<std::string> weight_problem(std::int64_t weight) {
  if (weight >= 1 && weight <= Placement::max_weight) return std::nullopt;
  return "must be in 1.." + std::to_string(Placement::max_weight) + " (got " + std::to_string(weight) + ")";
}

std::size_t meta_bytes(const std::map<std::string, std::string>& meta) {
  std::size_t bytes = 0;
  for (const auto& [key, value] : meta) bytes += key.size() + value.size();
  return bytes;
}

std::optional<std::string> meta_problem(const std::map<std::string, std::string>& meta) {
  std::size_t bytes = meta_bytes(meta);
  if (bytes <= Placement::max_meta_bytes) return std::nullopt;
  return "must hold at most " + std::to_string(Placement::max_meta_bytes) + " bytes of keys and values (got " +
         std::to_string(bytes) + ")";
}

std::optional<std::string> placement_problem(const Placement& placement) {
  if (auto error = zone_error(placement.zone)) return "zone: " + *error;
  if (auto problem = weight_problem(placement.weight)) return "weight " + *problem;
  if (auto problem = meta_problem(placement.meta)) return "meta " + *problem;
  return std::nullopt;
}

}  // namespace routing::discovery
