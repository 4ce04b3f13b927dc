#include "rpc/codec.h"

#include "common/byte_scan.h"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <cstring>

namespace routing::rpc {
namespace {

// Maps a byte to the letter of its escape, or 0 when it needs none.
constexpr char escape_letter(unsigned char c) noexcept {
  switch (c) {
    case '\\': return '\\';
    case '\n': return 'n';
    case '\r': return 'r';
    default: return 0;
  }
}

// Digits of a frame number: 1 to 10, value at most max_frame_number.
FrameError parse_number(std::string_view digits, std::uint32_t& number) {
  if (digits.empty()) return FrameError::empty_number;
  if (digits.size() > 10) {
    bool all_digits = std::all_of(digits.begin(), digits.end(),
                                  [](char c) { return c >= '0' && c <= '9'; });
    return all_digits ? FrameError::number_too_large : FrameError::bad_digit;
  }
  std::uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return FrameError::bad_digit;
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value > max_frame_number) return FrameError::number_too_large;
  number = static_cast<std::uint32_t>(value);
  return FrameError::none;
}

// 1 to 20 digits, value 1..2^64-1: a call id (or the id a cancel names).
bool parse_call_id(std::string_view digits, std::uint64_t& id) {
  if (digits.empty() || digits.size() > 20) return false;
  std::uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    auto digit = static_cast<std::uint64_t>(c - '0');
    if (value > (UINT64_MAX - digit) / 10) return false;
    value = value * 10 + digit;
  }
  if (value == 0) return false;
  id = value;
  return true;
}

// Decimal digits, saturating: a deadline too far to matter stays far.
bool parse_saturating(std::string_view digits, std::uint64_t& out) {
  std::uint64_t value = 0;
  for (char c : digits) {
    if (c < '0' || c > '9') return false;
    auto digit = static_cast<std::uint64_t>(c - '0');
    value = value > (UINT64_MAX - digit) / 10 ? UINT64_MAX : value * 10 + digit;
  }
  out = value;
  return true;
}

bool valid_key(std::string_view key) {
  if (key.empty() || key.size() > max_key_bytes) return false;
  return std::all_of(key.begin(), key.end(),
                     [](char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-'; });
}

bool valid_value(std::string_view value) {
  if (value.empty() || value.size() > max_value_bytes) return false;
  return std::all_of(value.begin(), value.end(),
                     [](char c) { return c >= '!' && c <= '~' && c != ';' && c != ':' && c != '\\'; });
}

// One "key=value" of a tagged frame's header.
FrameError parse_key(std::string_view item, FrameKeys& keys) {
  std::size_t equals = item.find('=');
  if (equals == std::string_view::npos || !valid_key(item.substr(0, equals))) return FrameError::bad_key;
  std::string_view key = item.substr(0, equals);
  std::string_view value = item.substr(equals + 1);
  if (!valid_value(value)) return FrameError::bad_value;
  if (key == "deadline-ms") {
    std::uint64_t ms = 0;
    if (!parse_saturating(value, ms)) return FrameError::bad_value;
    keys.deadline_ms = ms;
  } else if (key == "cancel") {
    if (!parse_call_id(value, keys.cancel)) return FrameError::bad_value;
  } else if (key == "traceparent") {
    keys.traceparent.assign(value);
  } else if (key == "request-id") {
    keys.request_id.assign(value);
  }
  return FrameError::none;
}

// "<id>[;key=value]*", the part between '#' and ':'.
FrameError parse_tag(std::string_view tag, Frame& frame) {
  frame.keys.clear();
  std::size_t semicolon = tag.find(';');
  if (!parse_call_id(tag.substr(0, semicolon), frame.id)) return FrameError::bad_call_id;
  while (semicolon != std::string_view::npos) {
    tag.remove_prefix(semicolon + 1);
    semicolon = tag.find(';');
    if (auto error = parse_key(tag.substr(0, semicolon), frame.keys); error != FrameError::none) return error;
  }
  return FrameError::none;
}

void append_key(std::string& out, std::string_view key, std::string_view value) {
  out.push_back(';');
  out.append(key);
  out.push_back('=');
  out.append(value);
}

void append_number_key(std::string& out, std::string_view key, std::uint64_t value) {
  char digits[24];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, value);
  append_key(out, key, std::string_view(digits, end - digits));
}

// The first byte in [p, end) that needs escaping, or end: eight bytes at a
// time, then byte by byte for the last few.
const char* find_escapable(const char* p, const char* end) {
  for (; end - p >= 8; p += 8) {
    auto word = common::load8(p);
    if (auto mask = common::has_byte(word, '\\') | common::has_byte(word, '\n') | common::has_byte(word, '\r')) {
      return p + common::first_flagged_byte(mask);
    }
  }
  while (p < end && escape_letter(static_cast<unsigned char>(*p)) == 0) ++p;
  return p;
}

}  // namespace

void append_escaped(std::string& out, std::string_view payload) {
  const char* p = payload.data();
  const char* const end = p + payload.size();
  out.reserve(out.size() + payload.size() + 2);
  for (;;) {
    const char* hit = find_escapable(p, end);
    out.append(p, static_cast<std::size_t>(hit - p));
    if (hit == end) return;
    out.push_back('\\');
    out.push_back(escape_letter(static_cast<unsigned char>(*hit)));
    p = hit + 1;
  }
}

void append_unescaped(std::string& out, std::string_view escaped) {
  const char* data = escaped.data();
  const std::size_t size = escaped.size();
  out.reserve(out.size() + size);
  std::size_t pos = 0;
  while (pos < size) {
    const void* hit = std::memchr(data + pos, '\\', size - pos);
    if (hit == nullptr) break;
    std::size_t slash = static_cast<const char*>(hit) - data;
    out.append(data + pos, slash - pos);
    char next = slash + 1 < size ? data[slash + 1] : 0;
    if (next == '\\') {
      out.push_back('\\');
    } else if (next == 'n') {
      out.push_back('\n');
    } else if (next == 'r') {
      out.push_back('\r');
    } else {
      out.push_back('\\');  // a lone backslash is kept literally
      pos = slash + 1;
      continue;
    }
    pos = slash + 2;
  }
  out.append(data + pos, size - pos);
}

void append_frame(std::string& out, std::uint32_t number, std::string_view payload) {
  char digits[16];
  auto [end, ec] = std::to_chars(digits, digits + sizeof digits, number);
  out.reserve(out.size() + (end - digits) + payload.size() + 2);
  out.append(digits, end);
  out.push_back(':');
  append_escaped(out, payload);
  out.push_back('\n');
}

void append_tagged_frame(std::string& out, std::uint32_t number, std::uint64_t id, std::string_view payload,
                         const FrameKeysView& keys) {
  char digits[48];
  char* end = std::to_chars(digits, digits + 16, number).ptr;
  *end++ = '#';
  end = std::to_chars(end, digits + sizeof digits, id).ptr;
  out.reserve(out.size() + (end - digits) + payload.size() + 2);
  out.append(digits, end);
  if (keys.deadline_ms) append_number_key(out, "deadline-ms", *keys.deadline_ms);
  if (keys.cancel != 0) append_number_key(out, "cancel", keys.cancel);
  if (valid_value(keys.traceparent)) append_key(out, "traceparent", keys.traceparent);
  if (valid_value(keys.request_id)) append_key(out, "request-id", keys.request_id);
  out.push_back(':');
  append_escaped(out, payload);
  out.push_back('\n');
}

void FrameKeys::clear() {
  deadline_ms.reset();
  cancel = 0;
  traceparent.clear();
  request_id.clear();
}

std::string escape(std::string_view payload) {
  std::string out;
  append_escaped(out, payload);
  return out;
}

std::string unescape(std::string_view escaped) {
  std::string out;
  append_unescaped(out, escaped);
  return out;
}

std::string encode_frame(std::uint32_t number, std::string_view payload) {
  std::string out;
  append_frame(out, number, payload);
  return out;
}

std::string encode_tagged_frame(std::uint32_t number, std::uint64_t id, std::string_view payload,
                                const FrameKeysView& keys) {
  std::string out;
  append_tagged_frame(out, number, id, payload, keys);
  return out;
}

ProbeAnswer read_probe_answer(const Frame& frame) {
  if (frame.id == 1 && frame.number == 0) return ProbeAnswer::tagged;
  // 8 (at its connection limit) and 14 (stopping) refuse the connection;
  // any other untagged answer comes from a server that reads only the line
  // protocol (ours says 3, others e.g. 12 for an unknown procedure).
  if (frame.id == 0 && frame.number != 8 && frame.number != 14) return ProbeAnswer::line_only;
  return ProbeAnswer::unusable;
}

bool is_valid_key_value(std::string_view value) { return valid_value(value); }

std::string_view describe(FrameError error) noexcept {
  switch (error) {
    case FrameError::none: return "ok";
    case FrameError::missing_colon: return "malformed frame: missing ':'";
    case FrameError::empty_number: return "malformed frame: empty number";
    case FrameError::bad_digit: return "malformed frame: number is not decimal digits";
    case FrameError::number_too_large: return "malformed frame: number out of range 0..2147483647";
    case FrameError::too_long: return "frame too long";
    case FrameError::bad_call_id: return "malformed frame: call id out of range 1..18446744073709551615";
    case FrameError::bad_key: return "malformed frame: a key must be key=value with key of [a-z0-9-]{1,32}";
    case FrameError::bad_value: return "malformed frame: a value must be 1..256 bytes of '!'..'~' other than ; : \\";
  }
  return "malformed frame";
}

FrameError parse_line(std::string_view line, Frame& frame) {
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return FrameError::missing_colon;
  std::string_view header = line.substr(0, colon);
  std::size_t hash = header.find('#');
  if (auto error = parse_number(header.substr(0, hash), frame.number); error != FrameError::none) {
    return error;
  }
  if (hash == std::string_view::npos) {
    frame.id = 0;
  } else if (auto error = parse_tag(header.substr(hash + 1), frame); error != FrameError::none) {
    frame.id = 0;
    return error;
  }
  frame.payload.clear();
  const std::string_view sent = line.substr(colon + 1);
  append_unescaped(frame.payload, sent);
  // Each escape read shortens the payload by one byte.
  if (frame.payload.size() != sent.size()) {
    frame.raw_payload.assign(sent);
  } else {
    frame.raw_payload.clear();
  }
  return FrameError::none;
}

FrameDecoder::FrameDecoder(std::size_t max_frame_bytes) : max_frame_bytes_(max_frame_bytes) {}

std::span<char> FrameDecoder::prepare(std::size_t min_bytes) {
  if (buffer_.size() - end_ < min_bytes) {
    compact();
    if (buffer_.size() - end_ < min_bytes) buffer_.resize(end_ + min_bytes);
  }
  return {buffer_.data() + end_, buffer_.size() - end_};
}

std::span<char> FrameDecoder::prepare_read() {
  auto space = prepare(read_size_);
  offered_ = space.size();
  return space;
}

void FrameDecoder::commit(std::size_t n) {
  if (n != 0 && n == offered_) read_size_ = std::min(read_size_ * 2, largest_read_size);
  offered_ = 0;
  end_ = std::min(end_ + n, buffer_.size());
}

void FrameDecoder::compact() {
  if (begin_ == 0) return;
  std::memmove(buffer_.data(), buffer_.data() + begin_, end_ - begin_);
  end_ -= begin_;
  scanned_ -= begin_;
  begin_ = 0;
}

FrameDecoder::Result FrameDecoder::next(Frame& frame, FrameError& error) {
  const char* base = buffer_.data();
  const void* hit = end_ > scanned_ ? std::memchr(base + scanned_, '\n', end_ - scanned_) : nullptr;
  if (hit == nullptr) {
    scanned_ = end_;
    // The line may still end in "\r\n": one byte of grace for the '\r'.
    if (end_ - begin_ > max_frame_bytes_ + 1) {
      error = FrameError::too_long;
      return Result::too_long;
    }
    // Cheap reset when drained, unless a read is outstanding (its space was
    // offered at end_: the server keeps a read armed while a call runs).
    if (begin_ == end_ && offered_ == 0) begin_ = end_ = scanned_ = 0;
    return Result::need_more;
  }
  std::size_t newline = static_cast<const char*>(hit) - base;
  std::string_view line(base + begin_, newline - begin_);
  if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
  begin_ = scanned_ = newline + 1;
  if (line.size() > max_frame_bytes_) {
    error = FrameError::too_long;
    return Result::too_long;
  }
  error = parse_line(line, frame);
  return error == FrameError::none ? Result::frame : Result::malformed;
}

}  // namespace routing::rpc
