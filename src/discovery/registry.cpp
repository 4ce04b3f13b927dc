#include "discovery/registry.h"

namespace routing::discovery {

bool Registry::register_instance(const std::string& name, const std::string& address,
                                 std::chrono::milliseconds ttl, Clock::time_point now) {
  Entry& entry = names_[name];
  auto expires = now + ttl;
  auto [it, added] = entry.instances.try_emplace(address, expires);
  if (!added) {
    leases_.erase({it->second, {name, address}});
    it->second = expires;
  } else {
    entry.index = ++index_;
  }
  leases_.insert({expires, {name, address}});
  return added;
}

bool Registry::deregister(const std::string& name, const std::string& address) {
  auto entry = names_.find(name);
  if (entry == names_.end()) return false;
  auto it = entry->second.instances.find(address);
  if (it == entry->second.instances.end()) return false;
  leases_.erase({it->second, {name, address}});
  remove(name, address);
  return true;
}

void Registry::remove(const std::string& name, const std::string& address) {
  auto entry = names_.find(name);
  entry->second.instances.erase(address);
  entry->second.index = ++index_;
  if (entry->second.instances.empty()) names_.erase(entry);
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
  if (entry == names_.end()) return {{}, index_};
  AddressSet set{{}, entry->second.index};
  set.addresses.reserve(entry->second.instances.size());
  for (const auto& [address, expires] : entry->second.instances) set.addresses.push_back(address);
  return set;
}

std::optional<Clock::time_point> Registry::next_expiry() const {
  if (leases_.empty()) return std::nullopt;
  return leases_.begin()->first;
}

}  // namespace routing::discovery
