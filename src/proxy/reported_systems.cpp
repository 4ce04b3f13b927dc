#include "proxy/reported_systems.h"

#include <algorithm>
#include <numeric>
#include <set>

namespace routing::proxy {
namespace {

std::uint64_t total_calls(const SystemStats& system) {
  return std::accumulate(system.calls_by_status.begin(), system.calls_by_status.end(), std::uint64_t{0},
                         [](std::uint64_t sum, const auto& entry) { return sum + entry.second; });
}

void add_histogram(LatencyHistogram& into, const LatencyHistogram& from) {
  if (into.counts.empty()) {
    into = from;
    return;
  }
  for (std::size_t i = 0; i < into.counts.size() && i < from.counts.size(); ++i) into.counts[i] += from.counts[i];
  into.sum_seconds += from.sum_seconds;
  into.count += from.count;
}

void add_system(SystemStats& into, const SystemStats& from) {
  into.pool_size += from.pool_size;
  into.max_pending += from.max_pending;
  into.in_flight += from.in_flight;
  into.waiting += from.waiting;
  into.shed += from.shed;
  into.mean_hold_seconds = std::max(into.mean_hold_seconds, from.mean_hold_seconds);  // the slowest folded system's
  add_histogram(into.queue_wait, from.queue_wait);
  into.open_connections += from.open_connections;
  into.retries += from.retries;
  into.retries_denied += from.retries_denied;
  for (auto [status, count] : from.calls_by_status) into.calls_by_status[status] += count;
  // Folded systems' procedures are all "other": ids differ from system to system.
  if (!from.calls_by_status.empty()) {
    if (into.calls_by_procedure.empty()) into.calls_by_procedure.push_back({});
    for (auto [status, count] : from.calls_by_status) into.calls_by_procedure.front().calls_by_status[status] += count;
  }
  add_histogram(into.latency, from.latency);
}

}  // namespace

void fold_reported_systems(RouterStats& stats, std::map<std::string, std::uint64_t>& rate_limited,
                           std::size_t limit) {
  auto& systems = stats.systems;
  if (systems.size() > limit) {
    // The busiest stay; ties by name, so the choice is stable between scrapes.
    std::stable_sort(systems.begin(), systems.end(),
                     [](const SystemStats& a, const SystemStats& b) { return total_calls(a) > total_calls(b); });
    SystemStats other;
    other.name = other_systems;
    other.strategy = "mixed";
    for (std::size_t i = limit; i < systems.size(); ++i) add_system(other, systems[i]);
    systems.resize(limit);
    std::sort(systems.begin(), systems.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
    systems.push_back(std::move(other));
  }
  if (rate_limited.size() <= limit) return;
  std::set<std::string> reported;
  for (const auto& system : systems) reported.insert(system.name);
  std::uint64_t folded = 0;
  for (auto it = rate_limited.begin(); it != rate_limited.end();) {
    if (reported.count(it->first) != 0) {
      ++it;
      continue;
    }
    folded += it->second;
    it = rate_limited.erase(it);
  }
  if (folded != 0) rate_limited[other_systems] += folded;
}

}  // namespace routing::proxy
