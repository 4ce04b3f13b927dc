#pragma once
// discoveryd's state: the live instances of each name, with leases. Pure
// logic: time is passed in, so tests use a fake clock.
//
// Indexes: one counter for the whole registry grows on every change; each name
// remembers the counter value of its last change. LIST reports that value, so
// a name's index grows exactly when its set changes. A name with no instances
// is forgotten, and then reports the registry's current counter, which is at
// least its last index: indexes never go backwards.
#include "discovery/address_set.h"

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
  // Registers `address` under `name`, or refreshes its lease. Returns true
  // when the set of `name` changed (a new address).
  bool register_instance(const std::string& name, const std::string& address,
                         std::chrono::milliseconds ttl, Clock::time_point now);
  // Returns true when `address` was registered.
  bool deregister(const std::string& name, const std::string& address);

  // Drops the instances whose lease ended at or before `now`. Returns the
  // names whose sets changed.
  std::vector<std::string> expire(Clock::time_point now);

  // One live address picked by `random`, nullopt if none.
  std::optional<std::string> pick(const std::string& name, std::uint64_t random) const;
  AddressSet list(const std::string& name) const;

  // When the next lease ends, if any.
  std::optional<Clock::time_point> next_expiry() const;
  std::uint64_t index() const noexcept { return index_; }
  std::size_t size() const noexcept { return leases_.size(); }

 private:
  using Key = std::pair<std::string, std::string>;  // name, address
  struct Entry {
    std::map<std::string, Clock::time_point> instances;  // address -> lease end
    std::uint64_t index = 0;
  };
  void remove(const std::string& name, const std::string& address);

  std::unordered_map<std::string, Entry> names_;
  std::set<std::pair<Clock::time_point, Key>> leases_;  // ordered by lease end
  std::uint64_t index_ = 0;
};

}  // namespace routing::discovery
