#pragma once
// When each system next needs the registry's sweep: a system can only be
// forgotten once it has no instances, and an empty set held back only
// needs applying when its grace ends, so the sweep visits the systems whose
// time has come, not every system it knows (O(due), not O(systems), under
// the registry's lock). One entry per system: a later time for a system
// already due earlier changes nothing (its visit reschedules it if needed).
#include <chrono>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

namespace routing::core {

class System;

class SweepAgenda {
 public:
  using Clock = std::chrono::steady_clock;

  // `system` is due at `at` (or earlier, if it already was).
  void schedule(const std::weak_ptr<System>& system, Clock::time_point at);
  // Drops `system`'s entry (it was forgotten).
  void cancel(const System* system);
  // Removes and returns the systems due at `now` that still exist, earliest first.
  std::vector<std::shared_ptr<System>> take_due(Clock::time_point now);
  std::size_t size() const;

 private:
  struct Entry {
    Clock::time_point due;
    std::weak_ptr<System> system;
  };
  mutable std::mutex mutex_;
  std::map<const System*, Entry> by_system_;            // under mutex_
  std::set<std::pair<Clock::time_point, const System*>> by_time_;  // under mutex_
};

}  // namespace routing::core
