#include "rpc/codec.h"

#include <gtest/gtest.h>

#include <cstring>

namespace routing::rpc {
namespace {

using Result = FrameDecoder::Result;

void feed(FrameDecoder& decoder, std::string_view bytes) {
  auto space = decoder.prepare(bytes.size());
  std::memcpy(space.data(), bytes.data(), bytes.size());
  decoder.commit(bytes.size());
}

// Drains every result the buffered bytes give, until need_more or too_long.
std::vector<std::pair<Result, std::string>> drain(FrameDecoder& decoder) {
  std::vector<std::pair<Result, std::string>> out;
  Frame frame;
  FrameError error;
  for (;;) {
    Result r = decoder.next(frame, error);
    if (r == Result::need_more) return out;
    out.emplace_back(r, r == Result::frame ? std::to_string(frame.number) + "|" + frame.payload
                                           : std::string(describe(error)));
    if (r == Result::too_long) return out;
  }
}

TEST(FrameDecoder, SplitsSeveralFramesInOneChunk) {
  FrameDecoder decoder;
  feed(decoder, "1:a\n2:b\\nc\n3:");
  auto results = drain(decoder);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].second, "1|a");
  EXPECT_EQ(results[1].second, "2|b\nc");
  feed(decoder, "tail\n");
  results = drain(decoder);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].second, "3|tail");
}

TEST(FrameDecoder, ReassemblesAFrameSentOneByteAtATime) {
  FrameDecoder decoder;
  std::string wire = encode_frame(42, "slow\\bytes\r\n") + "0:\r\n";
  std::vector<std::string> frames;
  for (char c : wire) {
    feed(decoder, std::string_view(&c, 1));
    for (auto& [r, text] : drain(decoder)) {
      ASSERT_EQ(r, Result::frame);
      frames.push_back(text);
    }
  }
  ASSERT_EQ(frames.size(), 2u);
  EXPECT_EQ(frames[0], "42|slow\\bytes\r\n");
  EXPECT_EQ(frames[1], "0|");
}

TEST(FrameDecoder, DropsTheCarriageReturnOfCrLf) {
  FrameDecoder decoder;
  feed(decoder, "5:x\r\n5:\r\r\n");
  auto results = drain(decoder);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].second, "5|x");
  EXPECT_EQ(results[1].second, "5|\r");  // only the last \r belongs to the line end
}

TEST(FrameDecoder, ReportsMalformedLinesAndKeepsGoing) {
  FrameDecoder decoder;
  feed(decoder, "garbage\n:x\n1:ok\n");
  auto results = drain(decoder);
  ASSERT_EQ(results.size(), 3u);
  EXPECT_EQ(results[0].first, Result::malformed);
  EXPECT_EQ(results[1].first, Result::malformed);
  EXPECT_EQ(results[2].second, "1|ok");
}

TEST(FrameDecoder, AcceptsALineOfExactlyTheLimit) {
  FrameDecoder decoder(100);
  std::string line = "1:" + std::string(98, 'x');
  feed(decoder, line + "\n" + line + "\r\n");
  auto results = drain(decoder);
  ASSERT_EQ(results.size(), 2u);
  EXPECT_EQ(results[0].first, Result::frame);
  EXPECT_EQ(results[1].first, Result::frame);
}

TEST(FrameDecoder, RejectsATerminatedLineOneByteOver) {
  FrameDecoder decoder(100);
  feed(decoder, "1:" + std::string(99, 'x') + "\n");
  auto results = drain(decoder);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].first, Result::too_long);
  EXPECT_EQ(results[0].second, "frame too long");
}

TEST(FrameDecoder, RejectsAnOverlongLineBeforeItEnds) {
  FrameDecoder decoder(100);
  feed(decoder, "1:" + std::string(99, 'x'));  // 101 bytes: could still be 100 + '\r'
  EXPECT_TRUE(drain(decoder).empty());
  feed(decoder, "y");
  auto results = drain(decoder);
  ASSERT_EQ(results.size(), 1u);
  EXPECT_EQ(results[0].first, Result::too_long);
  EXPECT_LE(decoder.buffered(), 102u);
}

TEST(FrameDecoder, BufferStaysBoundedAcrossManyFrames) {
  FrameDecoder decoder(1024);
  std::string chunk;
  for (int i = 0; i < 100; ++i) chunk += encode_frame(1, std::string(500, 'a'));
  for (int round = 0; round < 100; ++round) {
    feed(decoder, chunk);
    EXPECT_EQ(drain(decoder).size(), 100u);
  }
  EXPECT_EQ(decoder.buffered(), 0u);
}

// Reads sized like a socket's: small while frames are small, growing only
// while reads fill what is offered.
TEST(FrameDecoder, ReadSpaceStartsSmallAndGrowsOnlyWhenFilled) {
  FrameDecoder decoder(1 << 20);
  auto first = decoder.prepare_read();
  EXPECT_GE(first.size(), 1024u);
  EXPECT_LT(first.size(), 4096u);  // an idle connection holds little
  // Small frames never fill it: the offer stays small.
  for (int i = 0; i < 100; ++i) {
    auto space = decoder.prepare_read();
    std::memcpy(space.data(), "1:hello\n", 8);
    decoder.commit(8);
    ASSERT_EQ(drain(decoder).size(), 1u);
  }
  EXPECT_LT(decoder.prepare_read().size(), 4096u);
  // A 200 KiB frame arriving in full reads: the offer doubles, up to 64 KiB.
  std::string big = "1:" + std::string(200 * 1024, 'x') + "\n";
  std::size_t offset = 0, reads = 0, largest = 0;
  while (offset < big.size()) {
    auto space = decoder.prepare_read();
    std::size_t n = std::min(space.size(), big.size() - offset);
    std::memcpy(space.data(), big.data() + offset, n);
    decoder.commit(n);
    offset += n;
    largest = std::max(largest, n);
    ++reads;
  }
  auto frames = drain(decoder);
  ASSERT_EQ(frames.size(), 1u);
  EXPECT_EQ(frames[0].second.size(), 2 + 200u * 1024);  // "1|" + payload
  EXPECT_EQ(largest, 64u * 1024);
  EXPECT_LT(reads, 12u);
}

}  // namespace
}  // namespace routing::rpc
