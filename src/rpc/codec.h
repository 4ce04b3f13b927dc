#pragma once
// The line protocol codec (CONTRACT §1): "<number>:<escaped payload>\n", and
// its tagged form (CONTRACT §8): "<number>#<id>[;<key>=<value>]*:<payload>\n".
// Pure byte handling, no I/O, so it can be unit-tested, benchmarked and fuzzed.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace routing::rpc {

inline constexpr std::size_t default_max_frame_bytes = 1024 * 1024;
inline constexpr std::uint32_t max_frame_number = 2147483647;

// Appends `payload` escaped (\\, \n, \r) to `out`: the one copy on the way out.
void append_escaped(std::string& out, std::string_view payload);

// Appends `escaped` with the three escapes mapped back; any other backslash is
// kept literally. The one copy on the way in.
void append_unescaped(std::string& out, std::string_view escaped);

// Appends a whole frame "<number>:<escaped payload>\n" to `out`.
void append_frame(std::string& out, std::uint32_t number, std::string_view payload);

// Call metadata on the way out (CONTRACT §8); absent keys are not written,
// nor values that are not valid (1..256 bytes of '!'..'~' without ';' ':'
// '\\'): a caller's bad request id must not break the frame, or inject one.
struct FrameKeysView {
  std::optional<std::uint64_t> deadline_ms{};
  std::uint64_t cancel = 0;  // cancel=<id>, on a tagged ping
  std::string_view traceparent{};
  std::string_view request_id{};
};

// What a tagged call carries besides its deadline (the line protocol drops it).
struct CallKeys {
  std::string_view traceparent;
  std::string_view request_id;
};

// The `deadline-ms` a caller sends with `nanoseconds_left` to go: rounded up,
// so that the server never gives up before the caller does.
constexpr std::uint64_t deadline_ms_for(std::int64_t nanoseconds_left) {
  return static_cast<std::uint64_t>((nanoseconds_left + 999'999) / 1'000'000);
}

// Whether `value` may be a key's value (what append_tagged_frame writes).
bool is_valid_key_value(std::string_view value);

// Appends "<number>#<id>[;key=value]*:<escaped payload>\n" to `out`.
void append_tagged_frame(std::string& out, std::uint32_t number, std::uint64_t id, std::string_view payload,
                         const FrameKeysView& keys = {});

// Convenience forms for tests and tools.
std::string escape(std::string_view payload);
std::string unescape(std::string_view escaped);
std::string encode_frame(std::uint32_t number, std::string_view payload);
std::string encode_tagged_frame(std::uint32_t number, std::uint64_t id, std::string_view payload,
                                const FrameKeysView& keys = {});

// Why a line is not a valid frame.
enum class FrameError : std::uint8_t {
  none,
  missing_colon,     // no ':' in the line
  empty_number,      // nothing before ':'
  bad_digit,         // a non-digit before ':'
  number_too_large,  // more than 10 digits or above 2147483647
  too_long,          // the line exceeds the maximum frame size
  bad_call_id,       // a tag that is not 1..18446744073709551615
  bad_key,           // a key not of [a-z0-9-]{1,32}, or without '='
  bad_value,         // a value not 1..256 bytes of '!'..'~' without ';' ':' '\\'
};

// The message sent back with status 3, e.g. "frame too long".
std::string_view describe(FrameError error) noexcept;

inline constexpr std::size_t max_key_bytes = 32;
inline constexpr std::size_t max_value_bytes = 256;

// The keys of a tagged frame that mean something here; unknown keys are
// skipped. Only a tagged frame (id != 0) carries them.
struct FrameKeys {
  std::optional<std::uint64_t> deadline_ms;  // saturates at the largest value
  std::uint64_t cancel = 0;
  std::string traceparent;
  std::string request_id;

  void clear();
  FrameKeysView view() const { return {deadline_ms, cancel, traceparent, request_id}; }
};

struct Frame {
  std::uint32_t number = 0;
  std::uint64_t id = 0;  // the call id of a tagged frame; 0 for the line form
  std::string payload;   // decoded
  // The payload as it came on the line, kept only when unescaping changed
  // it (else empty: `payload` is it): the book's transport has no escaping
  // (CONTRACT §12), and routerd reads the book's requests as sent.
  std::string raw_payload;
  FrameKeys keys;        // meaningful only when id != 0
};

// What the answer to the tagged-frames probe `0#1:` says about a server:
// `0#1:pong`: it speaks tagged frames; an untagged answer (CONTRACT §8 says
// `3:...`; a server not built on this library may say e.g. `12:`): only the
// line protocol; `14:` (stopping), `8:` (at its connection limit) or another
// tagged frame: the connection is of no use, and no call was sent on it.
enum class ProbeAnswer : std::uint8_t { tagged, line_only, unusable };
ProbeAnswer read_probe_answer(const Frame& frame);
inline constexpr std::string_view probe_frame = "0#1:\n";

// Parses one line (without its "\n" or "\r\n") into `frame`, either form. On
// error `frame` is left in an unspecified state.
FrameError parse_line(std::string_view line, Frame& frame);

// Splits a byte stream into frames. Bytes are read straight into its buffer
// (prepare/commit), lines are found without rescanning bytes already seen, and
// an over-long line is reported as soon as it passes the limit, before its end
// has arrived, so memory stays bounded by the limit.
class FrameDecoder {
 public:
  enum class Result : std::uint8_t {
    frame,       // `frame` holds the next frame
    malformed,   // a bad line was consumed; `error` says why; keep going
    too_long,    // fatal: the stream cannot be resynchronised
    need_more,   // no complete line buffered
  };

  explicit FrameDecoder(std::size_t max_frame_bytes = default_max_frame_bytes);

  // Writable space of at least `min_bytes` for the next read.
  std::span<char> prepare(std::size_t min_bytes = 4096);
  // Space for the next read from a socket: small at first, so an idle
  // connection costs little memory, doubling each time a read fills it (up
  // to 64 KiB), so large frames still arrive in few reads.
  std::span<char> prepare_read();
  // Marks `n` bytes of the prepared space as received.
  void commit(std::size_t n);

  // Takes the next line out of the buffer.
  Result next(Frame& frame, FrameError& error);

  std::size_t buffered() const noexcept { return end_ - begin_; }
  std::size_t max_frame_bytes() const noexcept { return max_frame_bytes_; }

 private:
  void compact();

  static constexpr std::size_t first_read_size = 1024;
  static constexpr std::size_t largest_read_size = 64 * 1024;

  std::size_t max_frame_bytes_;
  std::size_t read_size_ = first_read_size;
  std::size_t offered_ = 0;  // space prepare_read() last offered
  std::vector<char> buffer_;
  std::size_t begin_ = 0;    // first unconsumed byte
  std::size_t end_ = 0;      // one past the last received byte
  std::size_t scanned_ = 0;  // bytes in [begin_, scanned_) hold no '\n'
};

}  // namespace routing::rpc
