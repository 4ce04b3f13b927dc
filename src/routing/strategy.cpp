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

// Fibonacci hashing: ticket × 2^64/φ spreads consecutive tickets evenly
// over [0, 2^64), so consecutive calls land far apart on the weights' line
// and each backend's turns are spread over the cycle, not bunched.
std::uint64_t spread(std::uint64_t ticket, std::uint64_t total) {
  const std::uint64_t hashed = ticket * 0x9E3779B97F4A7C15ULL;
  return static_cast<std::uint64_t>((static_cast<unsigned __int128>(hashed) * total) >> 64);
}

// Load per unit of weight: x is less loaded than y when
// x.in_flight / x.weight < y.in_flight / y.weight. Idle ones tie: the
// callers break ties by weight, so that calls one at a time are shared in
// proportion too (comparing (in flight + 1) / weight would send every such
// call to the heaviest backend).
bool lighter(const Candidate& x, const Candidate& y) {
  return std::uint64_t{x.in_flight} * y.weight < std::uint64_t{y.in_flight} * x.weight;
}

// y is cheaper than x (x was drawn first). Weighted and both idle: a tie,
// x stays (it was drawn by weight); else latency × (in flight + 1), per
// unit of weight when weighted.
bool cheaper_by_latency(const Candidate& y, const Candidate& x, bool weighted) {
  if (weighted && x.in_flight == 0 && y.in_flight == 0) return false;
  if (x.latency <= 0 || y.latency <= 0) {  // no estimate to compare
    return weighted ? lighter(y, x) : y.in_flight < x.in_flight;
  }
  double y_cost = y.latency * static_cast<double>(y.in_flight + 1);
  double x_cost = x.latency * static_cast<double>(x.in_flight + 1);
  if (weighted) return y_cost * x.weight < x_cost * y.weight;
  return y_cost < x_cost;
}

// Weighted least-connections: the least loaded per unit of weight; a tie
// (all idle, say) is shared by weight, spread by the ticket.
std::size_t least_loaded_by_weight(std::span<const Candidate> candidates, std::uint64_t ticket) {
  std::size_t best = 0;
  for (std::size_t i = 1; i < candidates.size(); ++i) {
    if (lighter(candidates[i], candidates[best])) best = i;
  }
  std::uint64_t tied_weight = 0;
  for (const auto& candidate : candidates) {
    if (!lighter(candidates[best], candidate)) tied_weight += candidate.weight;
  }
  std::uint64_t point = spread(ticket, tied_weight);
  for (std::size_t i = 0; i < candidates.size(); ++i) {
    if (lighter(candidates[best], candidates[i])) continue;
    if (point < candidates[i].weight) return i;
    point -= candidates[i].weight;
  }
  return best;
}


}  // namespace

bool weights_differ(std::span<const Candidate> candidates) {
  for (const auto& candidate : candidates) {
    if (candidate.weight != candidates[0].weight) return true;
  }
  return false;
}

std::pair<std::size_t, std::size_t> draw_two(std::span<const Candidate> candidates, std::mt19937_64& rng,
                                             bool weighted) {
  const std::size_t n = candidates.size();
  if (!weighted) {
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
  return pick_backend(strategy, candidates, ticket, rng, weights_differ(candidates));
}

std::size_t pick_backend(Strategy strategy, std::span<const Candidate> candidates, std::uint64_t ticket,
                         std::mt19937_64& rng, bool weighted) {
  const std::size_t n = candidates.size();
  if (n == 1) return 0;
  switch (strategy) {
    case Strategy::round_robin:
      return weighted ? at_weight(candidates, spread(ticket, total_weight(candidates))) : ticket % n;
    case Strategy::random:
      return weighted ? at_weight(candidates, rng() % total_weight(candidates)) : rng() % n;
    case Strategy::least_connections: {
      if (weighted) return least_loaded_by_weight(candidates, ticket);
      std::size_t best = ticket % n;
      for (std::size_t step = 1; step < n; ++step) {
        std::size_t i = (ticket + step) % n;
        if (candidates[i].in_flight < candidates[best].in_flight) best = i;
      }
      return best;
    }
    case Strategy::pick_two: {
      auto [a, b] = draw_two(candidates, rng, weighted);
      bool b_better = weighted ? lighter(candidates[b], candidates[a]) : candidates[b].in_flight < candidates[a].in_flight;
      return b_better ? b : a;
    }
    case Strategy::peak_ewma: {
      auto [a, b] = draw_two(candidates, rng, weighted);
      return cheaper_by_latency(candidates[b], candidates[a], weighted) ? b : a;
    }
  }
  return 0;
}

}  // namespace routing::core
