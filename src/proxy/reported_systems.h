#pragma once
// What STATUS and /metrics report per system is bounded: the busiest
// `max_reported_systems` systems (by calls) each get their own entry and
// metric series; the rest are summed into one entry named `other_systems`
// (counters, gauges and latency histograms added up; no backends). So a
// router with many systems answers STATUS and /metrics in bounded size and
// time (docs/reliability.md, "Bounds").
#include <routing/stats.h>

#include <cstdint>
#include <map>
#include <string>

namespace routing::proxy {

inline constexpr std::size_t max_reported_systems = 1000;
inline constexpr const char* other_systems = "_other";

// Folds `stats.systems` past `limit` into one `other_systems` entry, and
// the rate-limited counts of names not reported on their own with it.
void fold_reported_systems(RouterStats& stats, std::map<std::string, std::uint64_t>& rate_limited,
                           std::size_t limit = max_reported_systems);

}  // namespace routing::proxy
