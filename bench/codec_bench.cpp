// Codec throughput: encode and decode of payloads of several sizes, plain
// text and escape-heavy. Reports bytes/s of payload.
#include "rpc/codec.h"

#include <benchmark/benchmark.h>

#include <cstring>
#include <random>

namespace {

using namespace routing::rpc;

std::string make_payload(std::size_t size, bool escapes) {
  std::mt19937 rng(7);
  std::string payload(size, 'a');
  for (auto& c : payload) {
    c = static_cast<char>('a' + rng() % 26);
    if (escapes && rng() % 10 == 0) c = "\\\n\r"[rng() % 3];
  }
  return payload;
}

void BM_Encode(benchmark::State& state) {
  std::string payload = make_payload(state.range(0), state.range(1) != 0);
  std::string out;
  for (auto _ : state) {
    out.clear();
    append_frame(out, 1, payload);
    benchmark::DoNotOptimize(out.data());
  }
  state.SetBytesProcessed(state.iterations() * payload.size());
}

void BM_Decode(benchmark::State& state) {
  std::string payload = make_payload(state.range(0), state.range(1) != 0);
  // 64 frames per batch, as a pipelining client would send them.
  std::string wire;
  for (int i = 0; i < 64; ++i) append_frame(wire, 1, payload);
  FrameDecoder decoder(default_max_frame_bytes);
  Frame frame;
  FrameError error;
  for (auto _ : state) {
    auto space = decoder.prepare(wire.size());
    std::memcpy(space.data(), wire.data(), wire.size());
    decoder.commit(wire.size());
    while (decoder.next(frame, error) == FrameDecoder::Result::frame) {
      benchmark::DoNotOptimize(frame.payload.data());
    }
  }
  state.SetBytesProcessed(state.iterations() * 64 * payload.size());
}

// Args: payload size, escape-heavy (1) or plain (0).
BENCHMARK(BM_Encode)->ArgsProduct({{16, 1024, 65536}, {0, 1}});
BENCHMARK(BM_Decode)->ArgsProduct({{16, 1024, 65536}, {0, 1}});

}  // namespace

BENCHMARK_MAIN();
