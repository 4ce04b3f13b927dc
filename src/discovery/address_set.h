#pragma once
#include <cstdint>
#include <string>
#include <vector>

namespace routing::discovery {

// The instances of one name. `index` grows whenever the set changes (for
// etcd it is the store revision).
struct AddressSet {
  std::vector<std::string> addresses;  // sorted
  std::uint64_t index = 0;
  bool operator==(const AddressSet&) const = default;
};

}  // namespace routing::discovery
