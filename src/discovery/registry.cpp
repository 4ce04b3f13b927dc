#include "discovery/registry.h"

#include "discovery/protocol_json.h"

namespace routing::discovery {

bool Registry::register_instance(const std::string& name, const std::string& address,
                                 std::chrono::milliseconds ttl, Clock::time_point now, std::uint64_t owner,
                                 const Placement& placement) {
  auto [named, new_name] = names_.try_emplace(name);
  if (new_name) {
    if (auto it = forgotten_.find(name); it != forgotten_.end()) {
      forgotten_by_index_.erase(it->second);
      forgotten_.erase(it);
    }
  }
  Entry& entry = named->second;
  auto expires = now + ttl;
  auto [it, added] = entry.instances.try_emplace(address, Instance{expires, owner, {}, 0});  // placed below
  Instance& instance = it->second;
  bool changed = added || instance.placement != placement;
  if (!added) {
    leases_.erase({instance.expires, {name, address}});
    instance.expires = expires;
  } else if (owner != 0) {
    ++owned_[owner];
  }
  if (changed) {
    instance.placement = placement;
    entry.list_bytes -= instance.list_bytes;
    instance.list_bytes = list_entry_bytes(address, placement);
    entry.list_bytes += instance.list_bytes;
    entry.index = ++index_;
  }
  leases_.insert({expires, {name, address}});
  return changed;
}

std::optional<std::string> Registry::refusal(const std::string& name, const std::string& address,
                                             std::uint64_t owner, const DiscoveryLimits& limits,
                                             const Placement& placement) const {
  auto entry = names_.find(name);
  if (entry != names_.end()) {
    if (auto it = entry->second.instances.find(address); it != entry->second.instances.end()) {
      return refresh_refusal(name, address, it->second, limits, placement);
    }
  }
  if (entry == names_.end() && names_.size() >= limits.max_names) {
    return "too many names (at most " + std::to_string(limits.max_names) + ")";
  }
  if (leases_.size() >= limits.max_instances) {
    return "too many instances (at most " + std::to_string(limits.max_instances) + ")";
  }
  if (entry != names_.end() && entry->second.instances.size() >= limits.max_instances_per_name) {
    return "too many instances of '" + name + "' (at most " + std::to_string(limits.max_instances_per_name) + ")";
  }
  if (list_bytes(name) + list_entry_bytes(address, placement) > limits.max_list_bytes) {
    return list_too_long(name, limits);
  }
  auto owned = owned_.find(owner);
  if (owner != 0 && owned != owned_.end() && owned->second >= limits.max_registrations_per_connection) {
    return "too many registrations on this connection (at most " +
           std::to_string(limits.max_registrations_per_connection) + ")";
  }
  return std::nullopt;
}

// A refresh holds no more than the instance already does, unless it brings a
// larger placement: then only the LIST bound can refuse it. One that does not
// grow the answer always may, even past a bound a reload lowered.
std::optional<std::string> Registry::refresh_refusal(const std::string& name, const std::string& address,
                                                     const Instance& instance, const DiscoveryLimits& limits,
                                                     const Placement& placement) const {
  if (instance.placement == placement) return std::nullopt;
  std::size_t bytes = list_bytes(name) - instance.list_bytes + list_entry_bytes(address, placement);
  if (bytes > limits.max_list_bytes && bytes > list_bytes(name)) return list_too_long(name, limits);
  return std::nullopt;
}

std::string Registry::list_too_long(const std::string& name, const DiscoveryLimits& limits) {
  return "the LIST answer of '" + name + "' would pass " + std::to_string(limits.max_list_bytes) + " bytes";
}

std::size_t Registry::list_bytes(const std::string& name) const {
  auto entry = names_.find(name);
  return list_frame_overhead + (entry == names_.end() ? 0 : entry->second.list_bytes);
}

bool Registry::deregister(const std::string& name, const std::string& address) {
  auto entry = names_.find(name);
  if (entry == names_.end()) return false;
  auto it = entry->second.instances.find(address);
  if (it == entry->second.instances.end()) return false;
  leases_.erase({it->second.expires, {name, address}});
  remove(name, address);
  return true;
}

void Registry::remove(const std::string& name, const std::string& address) {
  auto entry = names_.find(name);
  auto instance = entry->second.instances.find(address);
  if (std::uint64_t owner = instance->second.owner; owner != 0) {
    if (auto owned = owned_.find(owner); --owned->second == 0) owned_.erase(owned);
  }
  entry->second.list_bytes -= instance->second.list_bytes;
  entry->second.instances.erase(instance);
  entry->second.index = ++index_;
  if (entry->second.instances.empty()) {
    names_.erase(entry);
    forget(name, index_);
  }
}

void Registry::forget(const std::string& name, std::uint64_t index) {
  forgotten_[name] = index;
  forgotten_by_index_.emplace(index, name);
  if (forgotten_by_index_.size() > max_forgotten_names) {
    auto oldest = forgotten_by_index_.begin();
    forgotten_before_ = oldest->first;
    forgotten_.erase(oldest->second);
    forgotten_by_index_.erase(oldest);
  }
}

std::uint64_t Registry::change_index(const std::string& name) const {
  if (auto entry = names_.find(name); entry != names_.end()) return entry->second.index;
  if (auto it = forgotten_.find(name); it != forgotten_.end()) return it->second;
  return forgotten_before_;
}

AddressSet Registry::watched(const std::string& name) const {
  AddressSet set = list(name);
  set.index = change_index(name);
  return set;
}

std::vector<std::string> Registry::expire(Clock::time_point now) {
  std::vector<std::string> changed;
  while (!leases_.empty() && leases_.begin()->first <= now) {
    auto [name, address] = leases_.begin()->second;
    leases_.erase(leases_.begin());
    remove(name, address);
    if (changed.empty() || changed.back() != name) changed.push_back(name);
  }
  return changed;
}

std::optional<std::string> Registry::pick(const std::string& name, std::uint64_t random) const {
  auto entry = names_.find(name);
  if (entry == names_.end()) return std::nullopt;
  auto it = entry->second.instances.begin();
  std::advance(it, random % entry->second.instances.size());
  return it->first;
}

AddressSet Registry::list(const std::string& name) const {
  auto entry = names_.find(name);
  if (entry == names_.end()) return {{}, index_, {}};
  AddressSet set{{}, entry->second.index, {}};
  set.addresses.reserve(entry->second.instances.size());
  for (const auto& [address, instance] : entry->second.instances) {
    set.addresses.push_back(address);
    if (!instance.placement.is_default()) {
      set.placements.emplace_hint(set.placements.end(), address, instance.placement);
    }
  }
  return set;
}

std::optional<Clock::time_point> Registry::next_expiry() const {
  if (leases_.empty()) return std::nullopt;
  return leases_.begin()->first;
}

}  // namespace routing::discovery
