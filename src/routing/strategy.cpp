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

// Two distinct candidates drawn at random.
std::pair<std::size_t, std::size_t> two_choices(std::size_t n, std::mt19937_64& rng) {
  std::size_t a = rng() % n;
  std::size_t b = rng() % (n - 1);
  if (b >= a) ++b;
  return {a, b};
}

bool cheaper_by_latency(const Candidate& x, const Candidate& y) {
  if (x.latency <= 0 || y.latency <= 0) return x.in_flight < y.in_flight;  // no estimate to compare
  return x.latency * static_cast<double>(x.in_flight + 1) < y.latency * static_cast<double>(y.in_flight + 1);
}

}  // namespace

std::size_t pick_backend(Strategy strategy, std::span<const Candidate> candidates, std::uint64_t ticket,
                         std::mt19937_64& rng) {
  const std::size_t n = candidates.size();
  if (n == 1) return 0;
  switch (strategy) {
    case Strategy::round_robin:
      return ticket % n;
    case Strategy::random:
      return rng() % n;
    case Strategy::least_connections: {
      std::size_t best = ticket % n;
      for (std::size_t step = 1; step < n; ++step) {
        std::size_t i = (ticket + step) % n;
        if (candidates[i].in_flight < candidates[best].in_flight) best = i;
      }
      return best;
    }
    case Strategy::pick_two: {
      auto [a, b] = two_choices(n, rng);
      return candidates[b].in_flight < candidates[a].in_flight ? b : a;
    }
    case Strategy::peak_ewma: {
      auto [a, b] = two_choices(n, rng);
      return cheaper_by_latency(candidates[b], candidates[a]) ? b : a;
    }
  }
  return 0;
}

}  // namespace routing::core
