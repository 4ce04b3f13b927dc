#pragma once
// Tests eight bytes at once ("SWAR"): the codec and routerd's JSON scanner
// skip runs of ordinary bytes with these instead of testing byte by byte.
#include <bit>
#include <cstdint>
#include <cstring>

namespace routing::common {

inline constexpr std::uint64_t ones = 0x0101010101010101ULL;
inline constexpr std::uint64_t highs = 0x8080808080808080ULL;

inline std::uint64_t load8(const char* p) {
  std::uint64_t word;
  std::memcpy(&word, p, sizeof word);
  return word;
}

// Non-zero when some byte of `word` equals `byte`.
inline constexpr std::uint64_t has_byte(std::uint64_t word, unsigned char byte) {
  std::uint64_t x = word ^ (ones * byte);
  return (x - ones) & ~x & highs;
}

// Non-zero when some byte of `word` is below `limit` (limit at most 128).
inline constexpr std::uint64_t has_byte_below(std::uint64_t word, unsigned char limit) {
  return (word - ones * limit) & ~word & highs;
}

// Non-zero when some byte of `word` is 0x80 or above (not ASCII).
inline constexpr std::uint64_t has_high_byte(std::uint64_t word) { return word & highs; }

// The index (0..7, in memory order) of the first byte flagged in a non-zero
// mask from the tests above, or an OR of them. The lowest flag is always
// exact: a false flag needs a borrow from a lower byte, which was a match.
inline int first_flagged_byte(std::uint64_t mask) {
  static_assert(std::endian::native == std::endian::little, "load8's byte order is assumed little-endian");
  return std::countr_zero(mask) / 8;
}

}  // namespace routing::common
