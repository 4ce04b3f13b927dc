// The tagged frame form of CONTRACT §8: "<number>#<id>[;<key>=<value>]*:<payload>".
#include "rpc/codec.h"

#include <gtest/gtest.h>

namespace routing::rpc {
namespace {

Frame parsed(std::string_view line) {
  Frame frame;
  EXPECT_EQ(parse_line(line, frame), FrameError::none) << line;
  return frame;
}

FrameError parse(std::string_view line) {
  Frame frame;
  return parse_line(line, frame);
}

TEST(TaggedCodec, ParsesIdAndKnownKeys) {
  Frame frame = parsed("7#42;deadline-ms=250;traceparent=00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01;"
                       "request-id=abc-123:a:b");
  EXPECT_EQ(frame.number, 7u);
  EXPECT_EQ(frame.id, 42u);
  EXPECT_EQ(frame.payload, "a:b");
  ASSERT_TRUE(frame.keys.deadline_ms);
  EXPECT_EQ(*frame.keys.deadline_ms, 250u);
  EXPECT_EQ(frame.keys.traceparent, "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  EXPECT_EQ(frame.keys.request_id, "abc-123");
  EXPECT_EQ(frame.keys.cancel, 0u);
}

TEST(TaggedCodec, SkipsUnknownKeysAndReadsCancel) {
  Frame frame = parsed("0#9;x-vendor=#!~;cancel=8:");
  EXPECT_EQ(frame.number, 0u);
  EXPECT_EQ(frame.id, 9u);
  EXPECT_EQ(frame.keys.cancel, 8u);
  EXPECT_FALSE(frame.keys.deadline_ms);
}

TEST(TaggedCodec, AcceptsTheWholeIdRange) {
  EXPECT_EQ(parsed("1#18446744073709551615:").id, 18446744073709551615u);
  EXPECT_EQ(parsed("1#1:").id, 1u);
  EXPECT_EQ(parse("1#18446744073709551616:"), FrameError::bad_call_id);
  EXPECT_EQ(parse("1#0:"), FrameError::bad_call_id);
  EXPECT_EQ(parse("1#:"), FrameError::bad_call_id);
  EXPECT_EQ(parse("1#-1:"), FrameError::bad_call_id);
  EXPECT_EQ(parse("1#123456789012345678901:"), FrameError::bad_call_id);
}

TEST(TaggedCodec, RejectsMalformedKeysAndValues) {
  EXPECT_EQ(parse("1#2;:x"), FrameError::bad_key);
  EXPECT_EQ(parse("1#2;novalue:x"), FrameError::bad_key);
  EXPECT_EQ(parse("1#2;Upper=1:x"), FrameError::bad_key);
  EXPECT_EQ(parse("1#2;=1:x"), FrameError::bad_key);
  EXPECT_EQ(parse("1#2;" + std::string(33, 'k') + "=1:x"), FrameError::bad_key);
  EXPECT_EQ(parse("1#2;" + std::string(32, 'k') + "=1:x"), FrameError::none);
  EXPECT_EQ(parse("1#2;k=:x"), FrameError::bad_value);
  EXPECT_EQ(parse("1#2;k=a b:x"), FrameError::bad_value);
  EXPECT_EQ(parse("1#2;k=a\\b:x"), FrameError::bad_value);
  EXPECT_EQ(parse("1#2;k=" + std::string(257, 'v') + ":x"), FrameError::bad_value);
  EXPECT_EQ(parse("1#2;k=" + std::string(256, 'v') + ":x"), FrameError::none);
  EXPECT_EQ(parse("1#2;deadline-ms=soon:x"), FrameError::bad_value);
  EXPECT_EQ(parse("1#2;cancel=0:x"), FrameError::bad_value);
  EXPECT_EQ(parse("1#2;;k=v:x"), FrameError::bad_key);
  EXPECT_EQ(parse("x#2:x"), FrameError::bad_digit);
  EXPECT_EQ(parse("#2:x"), FrameError::empty_number);
}

TEST(TaggedCodec, SaturatesHugeDeadlines) {
  Frame frame = parsed("1#2;deadline-ms=99999999999999999999999:x");
  EXPECT_EQ(*frame.keys.deadline_ms, UINT64_MAX);
}

TEST(TaggedCodec, AnUntaggedFrameAfterATaggedOneHasNoId) {
  Frame frame;
  ASSERT_EQ(parse_line("1#5;deadline-ms=3:x", frame), FrameError::none);
  ASSERT_EQ(parse_line("1:y", frame), FrameError::none);
  EXPECT_EQ(frame.id, 0u);
  EXPECT_EQ(frame.payload, "y");
}

TEST(TaggedCodec, EncodesWhatItParses) {
  FrameKeysView keys{.deadline_ms = 1500, .traceparent = "00-aa-bb-01", .request_id = "r1"};
  std::string wire = encode_tagged_frame(3, 77, "line1\nline2", keys);
  EXPECT_EQ(wire, "3#77;deadline-ms=1500;traceparent=00-aa-bb-01;request-id=r1:line1\\nline2\n");
  Frame frame = parsed(std::string_view(wire).substr(0, wire.size() - 1));
  EXPECT_EQ(frame.id, 77u);
  EXPECT_EQ(frame.payload, "line1\nline2");
  EXPECT_EQ(frame.keys.request_id, "r1");
  EXPECT_EQ(encode_tagged_frame(0, 5, "pong"), "0#5:pong\n");
  EXPECT_EQ(encode_tagged_frame(0, 6, "", {.cancel = 5}), "0#6;cancel=5:\n");
}

TEST(TaggedCodec, FrameDecoderYieldsTaggedFrames) {
  FrameDecoder decoder;
  std::string_view bytes = "1#1:a\n2:b\r\n3#2;deadline-ms=0:c\n";
  auto space = decoder.prepare(bytes.size());
  std::copy(bytes.begin(), bytes.end(), space.begin());
  decoder.commit(bytes.size());
  Frame frame;
  FrameError error;
  ASSERT_EQ(decoder.next(frame, error), FrameDecoder::Result::frame);
  EXPECT_EQ(frame.id, 1u);
  ASSERT_EQ(decoder.next(frame, error), FrameDecoder::Result::frame);
  EXPECT_EQ(frame.id, 0u);
  EXPECT_EQ(frame.payload, "b");
  ASSERT_EQ(decoder.next(frame, error), FrameDecoder::Result::frame);
  EXPECT_EQ(frame.id, 2u);
  EXPECT_EQ(*frame.keys.deadline_ms, 0u);
}

}  // namespace
}  // namespace routing::rpc
