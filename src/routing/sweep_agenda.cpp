#include "routing/sweep_agenda.h"

namespace routing::core {

void SweepAgenda::schedule(const std::weak_ptr<System>& system, Clock::time_point at) {
  auto key = system.lock();
  if (!key) return;
  std::lock_guard lock(mutex_);
  auto [it, added] = by_system_.try_emplace(key.get(), Entry{at, system});
  if (!added) {
    // An expired entry is another system's that lived at this address.
    if (it->second.due <= at && !it->second.system.expired()) return;
    it->second.system = system;
    by_time_.erase({it->second.due, key.get()});
    it->second.due = at;
  }
  by_time_.emplace(at, key.get());
}

void SweepAgenda::cancel(const System* system) {
  std::lock_guard lock(mutex_);
  auto it = by_system_.find(system);
  if (it == by_system_.end()) return;
  by_time_.erase({it->second.due, system});
  by_system_.erase(it);
}

std::vector<std::shared_ptr<System>> SweepAgenda::take_due(Clock::time_point now) {
  std::vector<std::shared_ptr<System>> due;
  std::lock_guard lock(mutex_);
  while (!by_time_.empty() && by_time_.begin()->first <= now) {
    auto key = by_time_.begin()->second;
    by_time_.erase(by_time_.begin());
    auto it = by_system_.find(key);
    if (auto system = it->second.system.lock()) due.push_back(std::move(system));
    by_system_.erase(it);
  }
  return due;
}

std::size_t SweepAgenda::size() const {
  std::lock_guard lock(mutex_);
  return by_system_.size();
}

}  // namespace routing::core
