#pragma once
// discoveryd's state: the live instances of each name, with leases. Pure
// logic: time is passed in, so tests use a fake clock.
//
// Indexes: one counter for the whole registry grows on every change; each name
// remembers the counter value of its last change. LIST reports that value, so
// a name's index grows exactly when its set changes. A name with no instances
// is forgotten, and then reports the registry's current counter, which is at
// least its last index: indexes never go backwards.
//
// The multi-name LIST needs more: which of many names changed since an index.
// A forgotten name's growing index would make it look changed whenever any
// name changes, so change_index() remembers when each name was emptied (for
// the last max_forgotten_names of them; older ones and names never seen
// report forgotten_before_, an index no earlier than their last change).
//
// Bounds (discovery/limits.h): refusal() says whether a registration would
// pass one; the registry keeps what that needs (instances per owner, each
// name's LIST size) as it changes, so the check costs O(1).
#include "discovery/address_set.h"
#include "discovery/limits.h"

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

namespace routing::discovery {

using Clock = std::chrono::steady_clock;

class Registry {
 public:
  // Registers `address` under `name` with `placement`, or refreshes its
  // lease. Returns true when the set of `name` changed: a new address, or a
  // refresh that brings another placement (the index grows, watchers learn
  // it); a refresh with the same placement changes nothing but the lease.
  // `owner` (the client connection, 0 = none) is charged with a new instance
  // until it goes.
  bool register_instance(const std::string& name, const std::string& address,
                         std::chrono::milliseconds ttl, Clock::time_point now, std::uint64_t owner = 0,
                         const Placement& placement = {});
  // Why registering `address` under `name` with `placement` for `owner` would
  // pass one of `limits` (status 8), or nullopt when it may. A refresh with
  // the same placement always may; one that changes it may not make the
  // name's LIST answer too long (placements hold up to 4 KiB of meta). The
  // address's own length and the placement's rules are the caller's checks
  // (status 3).
  std::optional<std::string> refusal(const std::string& name, const std::string& address, std::uint64_t owner,
                                     const DiscoveryLimits& limits, const Placement& placement = {}) const;
  // Returns true when `address` was registered.
  bool deregister(const std::string& name, const std::string& address);

  // Drops the instances whose lease ended at or before `now`. Returns the
  // names whose sets changed.
  std::vector<std::string> expire(Clock::time_point now);

  // One live address picked by `random`, nullopt if none.
  std::optional<std::string> pick(const std::string& name, std::uint64_t random) const;
  AddressSet list(const std::string& name) const;
  // The index of `name`'s last change, as the multi-name LIST compares and
  // reports it: for a name with instances the same as list()'s; for one
  // without, when it was emptied (see above), which stays put.
  std::uint64_t change_index(const std::string& name) const;
  // list(name) with change_index(name) as its index.
  AddressSet watched(const std::string& name) const;

  // When the next lease ends, if any.
  std::optional<Clock::time_point> next_expiry() const;
  std::uint64_t index() const noexcept { return index_; }
  std::size_t size() const noexcept { return leases_.size(); }
  std::size_t names() const noexcept { return names_.size(); }
  // The LIST answer's frame line for `name` is at most this long.
  std::size_t list_bytes(const std::string& name) const;

 private:
  using Key = std::pair<std::string, std::string>;  // name, address
  struct Instance {
    Clock::time_point expires;
    std::uint64_t owner = 0;
    Placement placement;
    std::size_t list_bytes = 0;  // list_entry_bytes of its address and placement
  };
  struct Entry {
    std::map<std::string, Instance> instances;  // by address
    std::uint64_t index = 0;
    std::size_t list_bytes = 0;  // sum of its instances' list_bytes
  };
  std::optional<std::string> refresh_refusal(const std::string& name, const std::string& address,
                                             const Instance& instance, const DiscoveryLimits& limits,
                                             const Placement& placement) const;
  static std::string list_too_long(const std::string& name, const DiscoveryLimits& limits);
  void remove(const std::string& name, const std::string& address);
  void forget(const std::string& name, std::uint64_t index);
  static constexpr std::size_t max_forgotten_names = 10'000;

  std::unordered_map<std::string, Entry> names_;
  std::set<std::pair<Clock::time_point, Key>> leases_;  // ordered by lease end
  std::unordered_map<std::uint64_t, std::size_t> owned_;  // owner -> live instances (none: absent)
  std::uint64_t index_ = 0;
  // Emptied names -> the index of that change, and the same by index (oldest
  // first, to drop it when there are too many).
  std::unordered_map<std::string, std::uint64_t> forgotten_;
  std::map<std::uint64_t, std::string> forgotten_by_index_;
  std::uint64_t forgotten_before_ = 0;
};

}  // namespace routing::discovery
