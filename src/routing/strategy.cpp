#include "routing/strategy.h"

namespace routing::core {

std::optional<Strategy> parse_strategy(std::string_view name) {
  if (name == "round-robin") return Strategy::round_robin;
  if (name == "random") return Strategy::random;
  if (name == "least-connections") return Strategy::least_connections;
  if (name == "pick-2") return Strategy::pick_two;
  if (name == "peak-ewma") return Strategy::peak_ewma;
  return std::nullopt;
}

std::string_view strategy_name(Strategy strategy) {
  switch (strategy) {
    case Strategy::round_robin: return "round-robin";
    case Strategy::random: return "random";
    case Strategy::least_connections: return "least-connections";
    case Strategy::pick_two: return "pick-2";
    case Strategy::peak_ewma: return "peak-ewma";
  }
  return "round-robin";
}

namespace {

bool uniform_weights(std::span<const Candidate> candidates) {
  for (const auto& candidate : candidates) {
    if (candidate.weight != candidates[0].weight) return false;
  }
  return true;
}

std::uint64_t total_weight(std::span<const Candidate> candidates) {
  std::uint64_t total = 0;
  for (const auto& candidate : candidates) total += candidate.weight;
  return total;
}

// The candidate whose share of the weights' line [0, total) holds `point`,
// skipping `skip` (whose weight the caller left out of the total).
std::size_t at_weight(std::span<const Candidate> candidates, std::uint64_t point,
                      std::size_t skip = static_cast<std::size_t>(-1)) {
  std::size_t last = 0;
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (i == skip) continue;
    if (point < candidates[i].weight) return i;
    point -= candidates[i].weight;
    last = i;
  }
  return last;  // not reached when point < the total
}

// Load per unit of weight: x is less loaded than y when
// (x.in_flight + 1) / x.weight < (y.in_flight + 1) / y.weight.
bool lighter(const Candidate& x, const Candidate& y) {
  return (x.in_flight + 1) * std::uint64_t{y.weight} < (y.in_flight + 1) * std::uint64_t{x.weight};
}

bool cheaper_by_latency(const Candidate& x, const Candidate& y, bool weighted) {
  if (x.latency <= 0 || y.latency <= 0) {  // no estimate to compare
    return weighted ? lighter(x, y) : x.in_flight < y.in_flight;
  }
  double x_cost = x.latency * static_cast<double>(x.in_flight + 1);
  double y_cost = y.latency * static_cast<double>(y.in_flight + 1);
  if (weighted) return x_cost * y.weight < y_cost * x.weight;
  return x_cost < y_cost;
}

// Fibonacci hashing: ticket × 2^64/φ spreads consecutive tickets evenly
// over [0, 2^64), so consecutive calls land far apart on the weights' line
// and each backend's turns are spread over the cycle, not bunched.
std::uint64_t spread(std::uint64_t ticket, std::uint64_t total) {
  const std::uint64_t hashed = ticket * 0x9E3779B97F4A7C15ULL;
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(hashed) * total) >> 64);
}

}  // namespace

std::pair<std::size_t, std::size_t> draw_two(std::span<const Candidate> candidates, std::mt19937_64& rng) {
  const std::size_t n = candidates.size();
  if (uniform_weights(candidates)) {
    std::size_t a = rng() % n;
    std::size_t b = rng() % (n - 1);
    if (b >= a) ++b;
    return {a, b};
  }
  const std::uint64_t total = total_weight(candidates);
  std::size_t a = at_weight(candidates, rng() % total);
  std::size_t b = at_weight(candidates, rng() % (total - candidates[a].weight), a);
  return {a, b};
}

std::size_t pick_backend(Strategy strategy, std::span<const Candidate> candidates, std::uint64_t ticket,
                         std::mt19937_64& rng) {
  const std::size_t n = candidates.size();
  if (n == 1) return 0;
  const bool weighted = !uniform_weights(candidates);
  switch (strategy) {
    case Strategy::round_robin:
      return weighted ? at_weight(candidates, spread(ticket, total_weight(candidates))) : ticket % n;
    case Strategy::random:
      return weighted ? at_weight(candidates, rng() % total_weight(candidates)) : rng() % n;
    case Strategy::least_connections: {
      std::size_t best = ticket % n;
      for (std::size_t step = 1; step < n; ++step) {
        std::size_t i = (ticket + step) % n;
        bool better = weighted ? lighter(candidates[i], candidates[best])
                               : candidates[i].in_flight < candidates[best].in_flight;
        if (better) best = i;
      }
      return best;
    }
    case Strategy::pick_two: {
      auto [a, b] = draw_two(candidates, rng);
      bool b_better = weighted ? lighter(candidates[b], candidates[a]) : candidates[b].in_flight < candidates[a].in_flight;
      return b_better ? b : a;
    }
    case Strategy::peak_ewma: {
      auto [a, b] = draw_two(candidates, rng);
      return cheaper_by_latency(candidates[b], candidates[a], weighted) ? b : a;
    }
  }
  return 0;
}

}  // namespace routing::core
