#pragma once
// The systems a router knows, by name. A system is created by its first
// call, which asks discovery for its instances (RouterCore::learn_first_set):
// a name discovery does not know is dropped again at once and remembered as
// unknown for a while (unknown_names.h); one with instances is followed from
// then on (discovery watch, health checks) until it has had no instances
// and no calls for RouterOptions::unused_system_retention. At most
// RouterOptions::max_systems exist at once. So calls naming systems that do
// not exist cannot pile up state (docs/reliability.md, "Bounds").
#include "routing/system.h"
#include "routing/unknown_names.h"

#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <unordered_map>

namespace routing::core {

class SystemRegistry {
 public:
  SystemRegistry(const LiveOptions& options, Strategy strategy);

  // The system named `name`, created if new; nullptr when the name is
  // remembered as unknown (`refusal`, if given, says 5) or max_systems
  // exist (8).
  std::shared_ptr<System> find_or_create(std::string_view name, Reply* refusal = nullptr);
  // find_or_create through a small per-thread cache: no lock and no hash
  // for the names a thread keeps calling.
  std::shared_ptr<System> find_or_create_cached(std::string_view name, Reply* refusal = nullptr);
  // Discovery's first answer for `system` listed no instance: it is dropped
  // and its name remembered as unknown.
  void forget_unknown(const std::shared_ptr<System>& system);

  // SET_STRATEGY: one system (pinned), or every system and the default for
  // new ones (clearing per-system choices). False for an unknown name.
  bool set_strategy(std::string_view strategy, std::optional<std::string> system);
  // DRAIN/UNDRAIN of one backend address (System::set_drained). A drain
  // may come before the system's first call (the system is made then); it
  // counts against max_systems: nullopt when that many exist already.
  std::optional<System::DrainResult> set_drained(std::string_view system, std::string_view address, bool drained);
  std::vector<std::shared_ptr<System>> all() const;
  // Applies empty sets whose grace has passed; forgets unused systems.
  // Visits only the systems due (sweep_agenda.h), not all.
  void sweep(std::chrono::steady_clock::time_point now);
  // Stops every system's discovery watch and health checks.
  void stop_all();

  struct Counts {
    std::size_t systems = 0;
    std::size_t unknown_names = 0;
    std::uint64_t unknown_names_evicted = 0;
    std::uint64_t refused = 0;  // new systems refused at max_systems
    std::size_t sweep_agenda = 0;  // systems the sweep will visit
  };
  Counts counts() const;

 private:
  // The system an operator's command names (SET_STRATEGY, DRAIN), made if
  // new, even for a name remembered as unknown; `within_cap`: not past
  // max_systems (nullptr then, counted as refused).
  std::shared_ptr<System> operator_target(std::string_view name, bool within_cap);
  // A new system, known to the agenda (under mutex_).
  std::shared_ptr<System> make_system(const std::string& name);

  const std::uint64_t id_;  // tells this registry's entries in per-thread caches from another's
  const LiveOptions& options_;
  mutable std::mutex mutex_;
  Strategy default_strategy_;  // under mutex_
  std::unordered_map<std::string, std::shared_ptr<System>> systems_;  // under mutex_
  UnknownNames unknown_;                                              // under mutex_
  std::uint64_t refused_ = 0;                                         // under mutex_
  std::shared_ptr<SweepAgenda> agenda_ = std::make_shared<SweepAgenda>();
};

}  // namespace routing::core
