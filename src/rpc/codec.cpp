#include "rpc/codec.h"

#include "common/byte_scan.h"

#include <algorithm>
#include <charconv>
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

std::string_view describe(FrameError error) noexcept {
  switch (error) {
    case FrameError::none: return "ok";
    case FrameError::missing_colon: return "malformed frame: missing ':'";
    case FrameError::empty_number: return "malformed frame: empty number";
    case FrameError::bad_digit: return "malformed frame: number is not decimal digits";
    case FrameError::number_too_large: return "malformed frame: number out of range 0..2147483647";
    case FrameError::too_long: return "frame too long";
  }
  return "malformed frame";
}

FrameError parse_line(std::string_view line, Frame& frame) {
  std::size_t colon = line.find(':');
  if (colon == std::string_view::npos) return FrameError::missing_colon;
  if (auto error = parse_number(line.substr(0, colon), frame.number); error != FrameError::none) {
    return error;
  }
  frame.payload.clear();
  append_unescaped(frame.payload, line.substr(colon + 1));
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
