#pragma once
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace routing::discovery {

// Where an instance runs and how much of a name's load it takes (CONTRACT
// §11): REGISTER's optional "zone", "weight" and "meta".
struct Placement {
  static constexpr std::uint32_t default_weight = 100;
  static constexpr std::uint32_t max_weight = 1000;  // weights are 1..max_weight
  static constexpr std::size_t max_meta_bytes = 4096;  // keys and values together

  std::string zone;  // "" = no zone
  std::uint32_t weight = default_weight;
  std::map<std::string, std::string> meta;  // string values only

  bool is_default() const { return zone.empty() && weight == default_weight && meta.empty(); }
  bool operator==(const Placement&) const = default;
};

// Why `zone` cannot name a zone, or nullopt: zones are 0..64 characters of
// [A-Za-z0-9._-] ("us-east-1a"), the one rule for REGISTER, static:// URLs
// and every --zone flag.
inline std::optional<std::string> zone_error(std::string_view zone) {
  if (zone.size() > 64) return "a zone is at most 64 characters";
  for (char c : zone) {
    bool fits = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
                c == '_' || c == '-';
    if (!fits) return "a zone has only letters, digits, '.', '_' and '-'";
  }
  return std::nullopt;
}

// The instances of one name. `index` grows whenever the set changes (for
// etcd it is the store revision).
struct AddressSet {
  std::vector<std::string> addresses;  // sorted
  std::uint64_t index = 0;
  // The placement of each address that has one other than the default (an
  // address absent here is in no zone, of weight 100, without meta).
  std::map<std::string, Placement> placements;

  const Placement& placement_of(const std::string& address) const {
    static const Placement none;
    auto found = placements.find(address);
    return found == placements.end() ? none : found->second;
  }
  // Records `placement` for `address` (a default one is not stored).
  void place(const std::string& address, Placement placement) {
    if (placement.is_default()) {
      placements.erase(address);
    } else {
      placements[address] = std::move(placement);
    }
  }
  bool operator==(const AddressSet&) const = default;
};

}  // namespace routing::discovery
