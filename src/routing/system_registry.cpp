#include "routing/system_registry.h"

#include "common/log.h"

#include <algorithm>
#include <array>

namespace routing::core {

namespace {
std::atomic<std::uint64_t> next_registry_id{1};
}  // namespace

SystemRegistry::SystemRegistry(const LiveOptions& options, Strategy strategy)
    : id_(next_registry_id.fetch_add(1)),
      options_(options),
      default_strategy_(strategy),
      unknown_(options.get().unknown_name_ttl, options.get().max_unknown_names) {}

std::shared_ptr<System> SystemRegistry::find_or_create(std::string_view name, Reply* refusal) {
  std::lock_guard lock(mutex_);
  auto found = systems_.find(std::string(name));
  if (found != systems_.end()) return found->second;
  if (unknown_.contains(name, std::chrono::steady_clock::now())) {
    if (refusal) *refusal = Reply::error(Status::not_found, "no instances of '" + std::string(name) + "'");
    return nullptr;
  }
  if (systems_.size() >= options_.get().max_systems) {
    ++refused_;
    if (refusal) {
      *refusal = Reply::error(Status::resource_exhausted,
                              "too many systems (max " + std::to_string(options_.get().max_systems) + "): '" +
                                  std::string(name) + "' is not looked up");
    }
    return nullptr;
  }
  auto system = make_system(std::string(name));
  systems_.emplace(std::string(name), system);
  return system;
}

std::shared_ptr<System> SystemRegistry::make_system(const std::string& name) {
  auto system = std::make_shared<System>(name, options_, default_strategy_);
  system->schedule_sweeps_on(agenda_);
  // It may never get an instance (discovery unreachable, or made by an operator's SET_STRATEGY).
  agenda_->schedule(system, std::chrono::steady_clock::now() + options_.get().unused_system_retention);
  return system;
}

void SystemRegistry::forget_unknown(const std::shared_ptr<System>& system) {
  std::lock_guard lock(mutex_);
  system->retire();
  auto it = systems_.find(system->name());
  if (it != systems_.end() && it->second == system) systems_.erase(it);
  agenda_->cancel(system.get());
  unknown_.add(system->name(), std::chrono::steady_clock::now());
}

SystemRegistry::Counts SystemRegistry::counts() const {
  std::lock_guard lock(mutex_);
  return Counts{systems_.size(), unknown_.size(), unknown_.evicted(), refused_, agenda_->size()};
}

std::shared_ptr<System> SystemRegistry::find_or_create_cached(std::string_view name, Reply* refusal) {
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
  auto system = find_or_create(name, refusal);
  if (system) cache[next_slot++ % cache.size()] = Entry{id_, std::string(name), system};
  return system;
}

std::shared_ptr<System> SystemRegistry::operator_target(std::string_view name, bool within_cap) {
  std::lock_guard lock(mutex_);
  if (auto found = systems_.find(std::string(name)); found != systems_.end()) return found->second;
  if (within_cap && systems_.size() >= options_.get().max_systems) {
    ++refused_;
    return nullptr;
  }
  unknown_.erase(name);
  return systems_[std::string(name)] = make_system(std::string(name));
}

bool SystemRegistry::set_strategy(std::string_view name, std::optional<std::string> system) {
  auto strategy = parse_strategy(name);
  if (!strategy) return false;
  if (system) {
    operator_target(*system, false)->set_strategy(*strategy, true);
    return true;
  }
  std::lock_guard lock(mutex_);
  default_strategy_ = *strategy;
  for (auto& [each_name, each] : systems_) each->set_strategy(*strategy, false);
  return true;
}

std::optional<System::DrainResult> SystemRegistry::set_drained(std::string_view system, std::string_view address,
                                                               bool drained) {
  std::shared_ptr<System> target;
  if (drained) {
    target = operator_target(system, true);
    if (!target) return std::nullopt;
  } else {
    std::lock_guard lock(mutex_);  // nothing to undrain in a system not known: make none
    auto found = systems_.find(std::string(system));
    if (found == systems_.end()) return System::DrainResult::not_listed;
    target = found->second;
  }
  return target->set_drained(std::string(address), drained);
}

std::vector<std::shared_ptr<System>> SystemRegistry::all() const {
  std::vector<std::shared_ptr<System>> out;
  std::lock_guard lock(mutex_);
  for (const auto& [name, system] : systems_) out.push_back(system);
  return out;
}

void SystemRegistry::sweep(std::chrono::steady_clock::time_point now) {
  auto due = agenda_->take_due(now);
  if (due.empty()) return;
  auto cutoff = now - options_.get().unused_system_retention;
  std::lock_guard lock(mutex_);
  for (auto& system : due) {
    auto it = systems_.find(system->name());
    if (it == systems_.end() || it->second != system) continue;  // forgotten meanwhile
    system->apply_overdue_empty_set(now);
    if (system->unused_since(cutoff)) {
      common::log().debug("forgetting system '{}': no instances, no calls", it->first);
      system->retire();
      systems_.erase(it);
      agenda_->cancel(system.get());  // an empty set applied just now scheduled it again
      continue;
    }
    if (auto next = system->next_sweep(now)) agenda_->schedule(system, *next);
  }
}

void SystemRegistry::stop_all() {
  std::lock_guard lock(mutex_);
  for (auto& [name, system] : systems_) {
    system->stop_watch();
    system->stop_resolving();
  }
}

}  // namespace routing::core
