#pragma once
// Collects what a discovery watch delivers, safely across threads.
#include "discovery/discovery.h"

#include <mutex>
#include <optional>
#include <string>
#include <vector>

namespace routing::test {

struct WatchRecorder {
  std::mutex mutex;
  std::vector<std::vector<std::string>> sets;
  std::vector<discovery::AddressSet> full_sets;  // the same, with indexes and placements

  discovery::WatchCallback callback() {
    return [this](const discovery::AddressSet& set) {
      std::lock_guard lock(mutex);
      sets.push_back(set.addresses);
      full_sets.push_back(set);
    };
  }
  std::optional<discovery::AddressSet> last_set() {
    std::lock_guard lock(mutex);
    if (full_sets.empty()) return std::nullopt;
    return full_sets.back();
  }
  std::optional<std::vector<std::string>> last() {
    std::lock_guard lock(mutex);
    if (sets.empty()) return std::nullopt;
    return sets.back();
  }
  std::vector<std::vector<std::string>> all() {
    std::lock_guard lock(mutex);
    return sets;
  }
  std::size_t count() {
    std::lock_guard lock(mutex);
    return sets.size();
  }
};

}  // namespace routing::test
