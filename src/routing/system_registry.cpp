#include "routing/system_registry.h"

#include "common/log.h"

#include <algorithm>
#include <array>

namespace routing::core {

namespace {
std::atomic<std::uint64_t> next_registry_id{1};
}  // namespace

SystemRegistry::SystemRegistry(const RouterOptions& options, Strategy strategy, Created on_created)
    : id_(next_registry_id.fetch_add(1)),
      options_(options),
      on_created_(std::move(on_created)),
      default_strategy_(strategy) {}

std::shared_ptr<System> SystemRegistry::find_or_create(const std::string& name) {
  std::shared_ptr<System> system;
  {
    std::lock_guard lock(mutex_);
    auto& slot = systems_[name];
    if (slot) return slot;
    slot = system = std::make_shared<System>(name, options_, default_strategy_);
  }
  // Outside the lock: starting a watch or a loop may run code inline.
  on_created_(system);
  return system;
}

std::shared_ptr<System> SystemRegistry::find_or_create_cached(std::string_view name) {
  struct Entry {
    std::uint64_t registry = 0;
    std::string name;
    std::weak_ptr<System> system;  // weak: a forgotten system (or router) is not kept alive
  };
  thread_local std::array<Entry, 4> cache;
  thread_local std::size_t next_slot = 0;
  for (auto& entry : cache) {
    if (entry.registry != id_ || entry.name != name) continue;
    if (auto system = entry.system.lock(); system && !system->retired()) return system;
  }
  auto system = find_or_create(std::string(name));
  cache[next_slot++ % cache.size()] = Entry{id_, std::string(name), system};
  return system;
}

bool SystemRegistry::set_strategy(std::string_view name, std::optional<std::string> system) {
  auto strategy = parse_strategy(name);
  if (!strategy) return false;
  if (system) {
    find_or_create(*system)->set_strategy(*strategy, true);
    return true;
  }
  std::lock_guard lock(mutex_);
  default_strategy_ = *strategy;
  for (auto& [each_name, each] : systems_) each->set_strategy(*strategy, false);
  return true;
}

std::vector<std::shared_ptr<System>> SystemRegistry::all() const {
  std::vector<std::shared_ptr<System>> out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, system] : systems_) out.push_back(system);
  return out;
}

void SystemRegistry::sweep(std::chrono::steady_clock::time_point now) {
  auto cutoff = now - options_.unused_system_retention;
  std::lock_guard lock(mutex_);
  for (auto it = systems_.begin(); it != systems_.end();) {
    it->second->apply_overdue_empty_set(now);
    if (!it->second->unused_since(cutoff)) {
      ++it;
      continue;
    }
    common::log().debug("forgetting system '{}': no instances, no calls", it->first);
    it->second->retire();
    it = systems_.erase(it);
  }
}

void SystemRegistry::stop_all() {
  std::lock_guard lock(mutex_);
  for (auto& [name, system] : systems_) {
    system->stop_watch();
    system->cancel_health_checks();
  }
}

}  // namespace routing::core
