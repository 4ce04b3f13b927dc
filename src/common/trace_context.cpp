#include "common/trace_context.h"

#include <algorithm>
#include <cstdint>
#include <random>

namespace routing::common {
namespace {

bool is_lower_hex(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f'); });
}

bool all_zero(std::string_view text) {
  return std::all_of(text.begin(), text.end(), [](char c) { return c == '0'; });
}

std::string random_hex(std::size_t digits) {
  thread_local std::mt19937_64 engine{std::random_device{}()};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out(digits, '0');
  do {
    for (std::size_t i = 0; i < digits; i += 16) {
      std::uint64_t bits = engine();
      for (std::size_t j = i; j < std::min(digits, i + 16); ++j, bits >>= 4) out[j] = hex[bits & 0xf];
    }
  } while (all_zero(out));
  return out;
}

}  // namespace

std::optional<TraceParent> parse_traceparent(std::string_view text) {
  // Version 00 is exactly 55 bytes; a later version may append fields.
  if (text.size() < 55 || text[2] != '-' || text[35] != '-' || text[52] != '-') return std::nullopt;
  if (text.size() > 55 && text[55] != '-') return std::nullopt;
  TraceParent parent{text.substr(0, 2), text.substr(3, 32), text.substr(36, 16), text.substr(53, 2)};
  if (!is_lower_hex(parent.version) || !is_lower_hex(parent.trace_id) || !is_lower_hex(parent.parent_id) ||
      !is_lower_hex(parent.flags)) {
    return std::nullopt;
  }
  if (parent.version == "ff" || (parent.version == "00" && text.size() != 55)) return std::nullopt;
  if (all_zero(parent.trace_id) || all_zero(parent.parent_id)) return std::nullopt;
  return parent;
}

std::string child_traceparent(const TraceParent& parent, std::string_view span_id) {
  std::string out;
  out.reserve(55);
  out.append("00-").append(parent.trace_id).append("-").append(span_id).append("-").append(parent.flags);
  return out;
}

std::string root_traceparent(std::string_view trace_id, std::string_view span_id) {
  std::string out = "00-";
  out.append(trace_id).append("-").append(span_id).append("-01");
  return out;
}

std::string new_span_id() { return random_hex(16); }
std::string new_trace_id() { return random_hex(32); }

}  // namespace routing::common
