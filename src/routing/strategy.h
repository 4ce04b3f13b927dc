#pragma once
// Load-balancing strategies: which of the eligible backends gets a call.
// Pure functions over the backends' in-flight counts, so they are unit-tested
// and benchmarked alone.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string_view>

namespace routing::core {

enum class Strategy : std::uint8_t { round_robin, random, least_connections, pick_two };

std::optional<Strategy> parse_strategy(std::string_view name);
std::string_view strategy_name(Strategy strategy);

// Index of the chosen backend among `in_flight.size()` (> 0) candidates.
// `ticket` is a per-system counter that grows by one per call (round-robin,
// and where least-connections starts looking, so ties are spread).
std::size_t pick_backend(Strategy strategy, std::span<const std::size_t> in_flight,
                         std::uint64_t ticket, std::mt19937_64& rng);

}  // namespace routing::core
