#include "proxy/route_json.h"

#include "common/base64.h"
#include "common/byte_scan.h"

#include <cstdint>

namespace routing::proxy {
namespace {

// A cursor over one JSON text. Every method returns false for anything it
// does not handle; the caller then gives up (and the full parser decides).
class Scanner {
 public:
  explicit Scanner(std::string_view text) : p_(text.data()), end_(p_ + text.size()) {}

  char peek() {
    skip_space();
    return p_ < end_ ? *p_ : '\0';
  }
  bool consume(char c) {
    if (p_ < end_ && *p_ == c) {  // compact JSON: no space to skip first
      ++p_;
      return true;
    }
    if (peek() != c) return false;
    ++p_;
    return true;
  }
  bool at_end() {
    skip_space();
    return p_ == end_;
  }

  // A key without escapes (every key routerd knows is plain ASCII).
  bool key(std::string_view& out) {
    if (!consume('"')) return false;
    const char* start = p_;
    skip_plain();
    while (p_ < end_ && *p_ != '"') {
      auto c = static_cast<unsigned char>(*p_);
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++p_;
    }
    if (p_ == end_) return false;
    out = std::string_view(start, static_cast<std::size_t>(p_ - start));
    ++p_;
    return true;
  }

  // A string value, decoded; must be valid UTF-8 with no lone surrogates.
  bool string(std::string& out) {
    if (!consume('"')) return false;
    out.clear();
    bool non_ascii = false;
    for (;;) {
      const char* run = p_;
      // Eight plain ASCII bytes at a time, then byte by byte.
      skip_plain();
      while (p_ < end_ && *p_ != '"' && *p_ != '\\' && static_cast<unsigned char>(*p_) >= 0x20) {
        non_ascii |= static_cast<unsigned char>(*p_) >= 0x80;
        ++p_;
      }
      out.append(run, static_cast<std::size_t>(p_ - run));
      if (p_ == end_ || static_cast<unsigned char>(*p_) < 0x20) return false;
      if (*p_++ == '"') break;
      if (!escape(out)) return false;
    }
    return !non_ascii || is_valid_utf8(out);
  }

  // A non-negative integer without fraction or exponent, at most 18 digits.
  bool integer(std::uint64_t& out) {
    skip_space();
    const char* start = p_;
    out = 0;
    while (p_ < end_ && *p_ >= '0' && *p_ <= '9') out = out * 10 + static_cast<std::uint64_t>(*p_++ - '0');
    auto digits = p_ - start;
    if (digits == 0 || digits > 18 || (digits > 1 && *start == '0')) return false;
    return p_ == end_ || (*p_ != '.' && *p_ != 'e' && *p_ != 'E');
  }

  bool literal(std::string_view word) {
    skip_space();
    if (static_cast<std::size_t>(end_ - p_) < word.size() || std::string_view(p_, word.size()) != word) return false;
    p_ += word.size();
    return true;
  }

  // Skips a value of a field routerd does not know (scalars only).
  bool skip_value() {
    std::string ignored;
    std::uint64_t number;
    switch (peek()) {
      case '"': return string(ignored);
      case 't': return literal("true");
      case 'f': return literal("false");
      case 'n': return literal("null");
      default: return integer(number);
    }
  }

 private:
  // Whether eight bytes hold a quote, a backslash, a control byte or a
  // non-ASCII byte: anything a string or key scan must stop at.
  static std::uint64_t special(std::uint64_t word) {
    return common::has_byte(word, '"') | common::has_byte(word, '\\') | common::has_byte_below(word, 0x20) |
           common::has_high_byte(word);
  }

  // Moves to the first special byte, eight bytes at a time while eight are
  // left (the byte loops that follow finish the last few and check it).
  void skip_plain() {
    while (end_ - p_ >= 8) {
      if (auto mask = special(common::load8(p_))) {
        p_ += common::first_flagged_byte(mask);
        return;
      }
      p_ += 8;
    }
  }

  void skip_space() {
    // Compact JSON (the usual case) has none: one test.
    while (p_ < end_ && static_cast<unsigned char>(*p_) <= ' ' &&
           (*p_ == ' ' || *p_ == '\t' || *p_ == '\n' || *p_ == '\r')) {
      ++p_;
    }
  }

  bool escape(std::string& out) {
    if (p_ == end_) return false;
    switch (*p_++) {
      case '"': out += '"'; return true;
      case '\\': out += '\\'; return true;
      case '/': out += '/'; return true;
      case 'b': out += '\b'; return true;
      case 'f': out += '\f'; return true;
      case 'n': out += '\n'; return true;
      case 'r': out += '\r'; return true;
      case 't': out += '\t'; return true;
      case 'u': return unicode_escape(out);
      default: return false;
    }
  }

  bool hex4(std::uint32_t& out) {
    if (end_ - p_ < 4) return false;
    out = 0;
    for (int i = 0; i < 4; ++i) {
      char c = *p_++;
      std::uint32_t digit;
      if (c >= '0' && c <= '9') digit = static_cast<std::uint32_t>(c - '0');
      else if (c >= 'a' && c <= 'f') digit = static_cast<std::uint32_t>(c - 'a' + 10);
      else if (c >= 'A' && c <= 'F') digit = static_cast<std::uint32_t>(c - 'A' + 10);
      else return false;
      out = out * 16 + digit;
    }
    return true;
  }

  bool unicode_escape(std::string& out) {
    std::uint32_t code;
    if (!hex4(code)) return false;
    if (code >= 0xDC00 && code <= 0xDFFF) return false;  // a lone low surrogate
    if (code >= 0xD800 && code <= 0xDBFF) {
      std::uint32_t low;
      if (end_ - p_ < 2 || p_[0] != '\\' || p_[1] != 'u') return false;
      p_ += 2;
      if (!hex4(low) || low < 0xDC00 || low > 0xDFFF) return false;
      code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00);
    }
    append_utf8(out, code);
    return true;
  }

  static void append_utf8(std::string& out, std::uint32_t code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }

  const char* p_;
  const char* end_;
};

// What the scanner saw, before the checks parse_route_args makes.
struct Seen {
  bool name = false, procedure = false, payload = false, encoded = false, timeout = false, idempotent = false;
  std::uint64_t procedure_id = 0, timeout_ms = 0;
  bool idempotent_value = false;
  std::string encoded_payload;
};

// Reads one field's value into `out`/`seen`; false to give up (including on
// a field seen twice: which one counts is the full parser's business).
bool read_field(Scanner& in, std::string_view key, RouteArgs& out, Seen& seen) {
  auto once = [](bool& flag) { return !std::exchange(flag, true); };
  if (key == "name") return once(seen.name) && in.string(out.name);
  if (key == "procedure_id") return once(seen.procedure) && in.integer(seen.procedure_id);
  if (key == "payload") return once(seen.payload) && in.string(out.payload);
  if (key == "payload_base64") return once(seen.encoded) && in.string(seen.encoded_payload);
  if (key == "timeout_ms") return once(seen.timeout) && in.integer(seen.timeout_ms);
  if (key == "idempotent") {
    if (!once(seen.idempotent)) return false;
    if (in.literal("true")) return seen.idempotent_value = true;
    return in.literal("false");
  }
  return in.skip_value();
}

// The same checks as parse_route_args; any failure leaves the explaining to it.
bool valid(RouteArgs& out, Seen& seen) {
  if (!seen.name || out.name.empty() || !seen.procedure || seen.procedure_id > 2147483647) return false;
  if (seen.payload == seen.encoded) return false;
  if (seen.encoded) {
    auto decoded = common::base64_decode(seen.encoded_payload);
    if (!decoded) return false;
    out.payload = std::move(*decoded);
  }
  if (seen.timeout) {
    if (seen.timeout_ms < 1 || seen.timeout_ms > 3'600'000) return false;
    out.options.timeout = std::chrono::milliseconds(seen.timeout_ms);
  }
  out.procedure_id = static_cast<std::uint32_t>(seen.procedure_id);
  out.options.idempotent = seen.idempotent_value;
  return true;
}

constexpr char hex_digits[] = "0123456789abcdef";

}  // namespace

std::optional<RouteArgs> scan_route_args(std::string_view json) {
  RouteArgs out;
  if (!scan_route_args(json, out)) return std::nullopt;
  return out;
}

bool scan_route_args(std::string_view json, RouteArgs& out) {
  Scanner in(json);
  out.name.clear();
  out.payload.clear();
  out.procedure_id = 0;
  out.options = CallOptions{};
  Seen seen;
  if (!in.consume('{')) return false;
  if (!in.consume('}')) {
    do {
      std::string_view key;
      if (!in.key(key) || !in.consume(':') || !read_field(in, key, out, seen)) return false;
    } while (in.consume(','));
    if (!in.consume('}')) return false;
  }
  return in.at_end() && valid(out, seen);
}

void append_json_string(std::string& out, std::string_view text) {
  out.reserve(out.size() + text.size() + 2);
  out += '"';
  std::size_t run = 0;  // start of the bytes not yet copied
  for (std::size_t i = 0; i < text.size(); ++i) {
    // Eight bytes with nothing to escape at a time (non-ASCII bytes are
    // copied as they are).
    while (text.size() - i >= 8) {
      auto word = common::load8(text.data() + i);
      if (common::has_byte(word, '"') | common::has_byte(word, '\\') | common::has_byte_below(word, 0x20)) break;
      i += 8;
    }
    if (i == text.size()) break;
    auto c = static_cast<unsigned char>(text[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(text.data() + run, i - run);
    run = i + 1;
    switch (c) {
      case '"': out += "\\\""; break;
      case '\\': out += "\\\\"; break;
      case '\b': out += "\\b"; break;
      case '\f': out += "\\f"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default:
        out += "\\u00";
        out += hex_digits[c >> 4];
        out += hex_digits[c & 0xF];
    }
  }
  out.append(text.data() + run, text.size() - run);
  out += '"';
}

std::size_t json_string_line_bytes(std::string_view text) {
  std::size_t bytes = 2 + text.size();  // the quotes, and one byte per byte
  for (char byte : text) {
    auto c = static_cast<unsigned char>(byte);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    switch (c) {
      case '\\': bytes += 3; break;  // \\ in JSON, each backslash doubled on the line
      case '"': case '\b': case '\f': case '\n': case '\r': case '\t': bytes += 2; break;
      default: bytes += 6;  // \u00XX, its backslash doubled
    }
  }
  return bytes;
}

}  // namespace routing::proxy
