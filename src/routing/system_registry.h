#pragma once
// The systems a router knows, by name. A system is created by its first
// call (then discovery is watched and health checks start: `on_created`) and
// forgotten when it has no instances and nobody called it for
// RouterOptions::unused_system_retention, so calls naming systems that do
// not exist cannot pile up state.
#include "routing/system.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace routing::core {

class SystemRegistry {
 public:
  using Created = std::function<void(const std::shared_ptr<System>&)>;

  // `on_created` runs outside the lock for every new system.
  SystemRegistry(const RouterOptions& options, Strategy strategy, Created on_created);

  std::shared_ptr<System> find_or_create(const std::string& name);
  // find_or_create through a small per-thread cache: no lock and no hash
  // for the names a thread keeps calling.
  std::shared_ptr<System> find_or_create_cached(std::string_view name);

  // SET_STRATEGY: one system (pinned), or every system and the default for
  // new ones (clearing per-system choices). False for an unknown name.
  bool set_strategy(std::string_view strategy, std::optional<std::string> system);
  std::vector<std::shared_ptr<System>> all() const;
  // Applies empty sets whose grace has passed; forgets unused systems.
  void sweep(std::chrono::steady_clock::time_point now);
  // Stops every system's discovery watch and health checks.
  void stop_all();

 private:
  const std::uint64_t id_;  // tells this registry's entries in per-thread caches from another's
  const RouterOptions& options_;
  Created on_created_;
  mutable std::mutex mutex_;
  Strategy default_strategy_;  // under mutex_
  std::unordered_map<std::string, std::shared_ptr<System>> systems_;  // under mutex_
};

}  // namespace routing::core
