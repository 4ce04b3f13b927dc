// libFuzzer target: arbitrary bytes, fed to the frame decoder in arbitrary
// chunks, never crash it, never grow its buffer past the limit, and every
// frame it yields re-encodes to a line that decodes to the same frame.
#include "rpc/codec.h"

#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <string_view>

using namespace routing::rpc;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// Either form; a tagged frame keeps its id and known keys (unknown keys are
// dropped on the way in, so they do not come back).
void check_round_trip(const Frame& frame) {
  std::string wire = frame.id == 0 ? encode_frame(frame.number, frame.payload)
                                   : encode_tagged_frame(frame.number, frame.id, frame.payload, frame.keys.view());
  Frame again;
  check(parse_line(std::string_view(wire).substr(0, wire.size() - 1), again) == FrameError::none);
  check(again.number == frame.number && again.payload == frame.payload && again.id == frame.id);
  if (frame.id == 0) return;
  check(again.keys.deadline_ms == frame.keys.deadline_ms && again.keys.cancel == frame.keys.cancel &&
        again.keys.traceparent == frame.keys.traceparent && again.keys.request_id == frame.keys.request_id);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  if (size < 2) return 0;
  // The first byte picks the chunk size, the second the frame limit.
  const std::size_t chunk = 1 + data[0] % 64;
  const std::size_t limit = 8 + data[1];
  std::string_view input(reinterpret_cast<const char*>(data + 2), size - 2);

  // Any input is a valid payload: it must survive the escape round trip.
  check(unescape(escape(input)) == input);

  FrameDecoder decoder(limit);
  Frame frame;
  FrameError error;
  for (std::size_t pos = 0; pos < input.size(); pos += chunk) {
    std::size_t n = std::min(chunk, input.size() - pos);
    auto space = decoder.prepare(n);
    std::memcpy(space.data(), input.data() + pos, n);
    decoder.commit(n);
    for (;;) {
      auto result = decoder.next(frame, error);
      if (result == FrameDecoder::Result::need_more) break;
      if (result == FrameDecoder::Result::too_long) return 0;  // the stream ends here
      if (result == FrameDecoder::Result::frame) check_round_trip(frame);
      if (result == FrameDecoder::Result::malformed) check(error != FrameError::none);
    }
    check(decoder.buffered() <= limit + 1);
  }
  return 0;
}
