#pragma once
// Load-balancing strategies: which of the eligible backends gets a call.
// Pure functions over the backends' in-flight counts (and latency estimates,
// for peak-ewma), so they are unit-tested and benchmarked alone.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <random>
#include <span>
#include <string_view>
#include <utility>

namespace routing::core {

enum class Strategy : std::uint8_t { round_robin, random, least_connections, pick_two, peak_ewma };

// What a strategy knows of one eligible backend. Trivial (no member
// initializers): System::pick keeps 64 of them on the stack per call, and
// zeroing them would cost more than the pick.
// 16 bytes: a pick over 100 backends copies 100 of them.
struct Candidate {
  std::uint32_t in_flight;
  // Its weight from discovery (1..1000, CONTRACT §11).
  std::uint32_t weight;
  // peak-ewma only: the backend's latency estimate (PeakEwma), in
  // nanoseconds; 0 when it has none yet.
  double latency;
};

std::optional<Strategy> parse_strategy(std::string_view name);
std::string_view strategy_name(Strategy strategy);

// Index of the chosen backend among `candidates.size()` (> 0) candidates.
// `ticket` is a per-system counter that grows by one per call (round-robin,
// and where least-connections starts looking, so ties are spread).
// peak-ewma is the power of two choices on latency × (in flight + 1); a
// candidate without an estimate is compared with the other on calls in flight.
//
// Weights bias every strategy proportionally (docs/zones.md): round-robin
// and random hand out calls in proportion to weight (round-robin spreads a
// backend's turns over the cycle, Fibonacci hashing of the ticket); the
// comparing strategies compare load per unit of weight, (in flight + 1) /
// weight, and the two choices are drawn by weight. Equal weights take the
// unweighted paths: the same picks as without weights.
std::size_t pick_backend(Strategy strategy, std::span<const Candidate> candidates, std::uint64_t ticket,
                         std::mt19937_64& rng);
// The same when the caller knows whether the weights differ (`weighted`
// false: all equal), sparing a pass over the candidates.
std::size_t pick_backend(Strategy strategy, std::span<const Candidate> candidates, std::uint64_t ticket,
                         std::mt19937_64& rng, bool weighted);

// Two distinct candidates (of at least two) drawn at random, by weight when
// `weighted` (the weights differ): the power of two choices' draw.
std::pair<std::size_t, std::size_t> draw_two(std::span<const Candidate> candidates, std::mt19937_64& rng,
                                             bool weighted);
// Whether the candidates' weights differ.
bool weights_differ(std::span<const Candidate> candidates);

}  // namespace routing::core
