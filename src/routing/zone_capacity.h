#pragma once
// The locality rule (CONTRACT §11, docs/zones.md), as a pure sum over a
// system's backends so that it is unit-tested alone.
//
// A router with a zone sends a call near (to a backend of its own zone)
// with probability
//     near_share = min(1, overprovisioning × near available weight / near listed weight)
// and otherwise to the other zones (each by its weight). "Available" is
// healthy, not ejected, not drained and resolved; "listed" is every backend
// discovery lists in the zone. So a zone with all its capacity keeps every
// call; one that lost a little (up to 1 - 1/1.4, about 29%) still keeps
// them all, as its headroom absorbs the loss; past that the calls it can no
// longer serve spill over in proportion to what it lacks; a zone with
// nothing available spills everything; and the calls come back as its
// backends do. Envoy's priority levels use the same 1.4 factor. Without
// backends in its zone (or without a zone) everything is near.
#include <algorithm>
#include <cstdint>

namespace routing::core {

struct ZoneCapacity {
  static constexpr double overprovisioning = 1.4;

  std::uint64_t near_listed = 0;     // weight of the backends in the router's zone
  std::uint64_t near_available = 0;  // of those, the ones available now
  bool has_remote = false;           // a backend in another zone is listed

  void count(bool near, std::uint32_t weight, bool available) {
    if (!near) {
      has_remote = true;
      return;
    }
    near_listed += weight;
    if (available) near_available += weight;
  }
  // The share of calls that stay in the zone, 0..1.
  double near_share() const {
    if (near_listed == 0) return 0;
    return std::min(1.0, overprovisioning * static_cast<double>(near_available) / static_cast<double>(near_listed));
  }
};

}  // namespace routing::core
