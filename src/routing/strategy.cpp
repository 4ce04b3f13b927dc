#include "routing/strategy.h"

namespace routing::core {

std::optional<Strategy> parse_strategy(std::string_view name) {
  if (name == "round-robin") return Strategy::round_robin;
  if (name == "random") return Strategy::random;
  if (name == "least-connections") return Strategy::least_connections;
  if (name == "pick-2") return Strategy::pick_two;
  return std::nullopt;
}

std::string_view strategy_name(Strategy strategy) {
  switch (strategy) {
    case Strategy::round_robin: return "round-robin";
    case Strategy::random: return "random";
    case Strategy::least_connections: return "least-connections";
    case Strategy::pick_two: return "pick-2";
  }
  return "round-robin";
}

std::size_t pick_backend(Strategy strategy, std::span<const std::size_t> in_flight,
                         std::uint64_t ticket, std::mt19937_64& rng) {
  const std::size_t n = in_flight.size();
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
        if (in_flight[i] < in_flight[best]) best = i;
      }
      return best;
    }
    case Strategy::pick_two: {
      std::size_t a = rng() % n;
      std::size_t b = rng() % (n - 1);
      if (b >= a) ++b;  // two distinct candidates
      return in_flight[b] < in_flight[a] ? b : a;
    }
  }
  return 0;
}

}  // namespace routing::core
