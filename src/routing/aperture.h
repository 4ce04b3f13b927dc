#pragma once
// The aperture (docs/architecture.md, "Aperture"): which of a system's backends
// one router sends calls to when it has more backends than connections.
//
// A router may keep at most `connection_limit` connections open to a system
// (its pool size; with adaptive pools twice the limit's recent peak).
// Spreading calls over more backends than that means most calls find no idle connection to the backend they were
// given and connect afresh (measured: 1,000 backends behind a pool of 64
// cost 6.6x the CPU per call of one backend). So each router looks at a
// window of `width` available backends only (System::aperture_width: a
// fixed pool's size; an adaptive pool's grows and shrinks with demand):
// a contiguous run of the
// backends (sorted by address) that starts at the router's own place on
// the ring, `coordinate` in [0, 1), drawn at random per system and router so
// that many routers cover the backends evenly on average. Backends that are
// not available (unhealthy, ejected, drained, unresolved) do not count: the
// window reaches past them, so it always holds `width` usable ones while
// there are that many. A change in the list moves the window by the change
// only (sorted addresses, a fixed coordinate), so connections stay useful.
//
// With no more backends than connections the window is every backend: the
// picks are exactly those of a router without an aperture.
#include <algorithm>
#include <cstddef>

namespace routing::core {

class Aperture {
 public:
  explicit Aperture(double coordinate) : coordinate_(coordinate) {}

  // How many available backends the window holds.
  static std::size_t width(std::size_t backends, std::size_t connection_limit) {
    return std::min(backends, std::max<std::size_t>(connection_limit, 1));
  }
  // The index the window starts at, among `backends` (> 0).
  std::size_t first(std::size_t backends) const {
    return std::min(backends - 1, static_cast<std::size_t>(coordinate_ * static_cast<double>(backends)));
  }
  double coordinate() const { return coordinate_; }

  // Calls `visit(index)` for the indices of `backends` in ring order, each
  // once, until `visit` returns false: from first() when a window of
  // `width` narrows them, else from 0 (the order without an aperture).
  template <class Visit>
  void walk(std::size_t backends, std::size_t width, Visit visit) const {
    walk_from(width < backends ? first(backends) : 0, backends, visit);
  }
  // The same from first(), narrowed or not (sizing a window by demand).
  template <class Visit>
  void walk_from_place(std::size_t backends, Visit visit) const {
    walk_from(first(backends), backends, visit);
  }

 private:
  template <class Visit>
  static void walk_from(std::size_t start, std::size_t backends, Visit visit) {
    if (backends == 0) return;
    for (std::size_t k = 0; k < backends; ++k) {
      std::size_t i = start + k;
      if (i >= backends) i -= backends;
      if (!visit(i)) return;
    }
  }

  double coordinate_;
};

}  // namespace routing::core
