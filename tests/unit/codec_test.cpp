#include "rpc/codec.h"

#include <routing/status.h>

#include <gtest/gtest.h>

#include <random>

namespace routing::rpc {
namespace {

using namespace std::string_literals;

// CONTRACT §1 test vectors: payload bytes and the request frame for procedure 7.
struct Vector {
  std::string payload;
  std::string frame;
};

const Vector contract_vectors[] = {
    {"hello", "7:hello\n"},
    {"", "7:\n"},
    {"a:b:c", "7:a:b:c\n"},
    {"line1\nline2", "7:line1\\nline2\n"},
    {"back\\slash", "7:back\\\\slash\n"},
    {"cr\r", "7:cr\\r\n"},
    {"{\"k\":\"v\\n\"}", "7:{\"k\":\"v\\\\n\"}\n"},
};

TEST(Codec, EncodesEveryContractVector) {
  for (const auto& v : contract_vectors) {
    EXPECT_EQ(encode_frame(7, v.payload), v.frame) << v.payload;
  }
}

TEST(Codec, DecodesEveryContractVector) {
  for (const auto& v : contract_vectors) {
    Frame frame;
    std::string_view line(v.frame);
    line.remove_suffix(1);
    ASSERT_EQ(parse_line(line, frame), FrameError::none) << v.frame;
    EXPECT_EQ(frame.number, 7u);
    EXPECT_EQ(frame.payload, v.payload);
  }
}

TEST(Codec, KeepsLoneBackslashesLiterally) {
  EXPECT_EQ(unescape("a\\qb"), "a\\qb");
  EXPECT_EQ(unescape("end\\"), "end\\");
  EXPECT_EQ(unescape("\\"), "\\");
  EXPECT_EQ(unescape("\\\\n"), "\\n");  // escaped backslash, then a plain n
  EXPECT_EQ(unescape("\\x\\n"), "\\x\n");
}

// The payload as sent is kept when unescaping changed it (the book's
// requests are read that way: CONTRACT §12), and only then.
TEST(Codec, KeepsThePayloadAsSentWhenUnescapingChangedIt) {
  Frame frame;
  ASSERT_EQ(parse_line(R"(1:{text: "a\\b\:c\nd"})", frame), FrameError::none);
  EXPECT_EQ(frame.payload, "{text: \"a\\b\\:c\nd\"}");
  EXPECT_EQ(frame.raw_payload, R"({text: "a\\b\:c\nd"})");
  ASSERT_EQ(parse_line(R"(1:{text: "a\:b"})", frame), FrameError::none);
  EXPECT_EQ(frame.payload, R"({text: "a\:b"})");
  EXPECT_TRUE(frame.raw_payload.empty());  // nothing changed: `payload` is it
}

TEST(Codec, PassesNulAndNonUtf8Through) {
  std::string payload = "a\0b\xff\xfe"s;
  EXPECT_EQ(escape(payload), payload);
  EXPECT_EQ(unescape(escape(payload)), payload);
}

TEST(Codec, RoundTripsRandomBytes) {
  std::mt19937 rng(12345);
  // Bias towards the bytes that need escaping so every combination shows up.
  const char specials[] = {'\\', '\n', '\r', 'n', 'r', '\0', ':'};
  for (int i = 0; i < 20000; ++i) {
    std::string payload(rng() % 64, '\0');
    for (auto& c : payload) {
      c = (rng() % 2) ? specials[rng() % sizeof specials] : static_cast<char>(rng() % 256);
    }
    std::string escaped = escape(payload);
    ASSERT_EQ(escaped.find('\n'), std::string::npos);
    ASSERT_EQ(escaped.find('\r'), std::string::npos);
    ASSERT_EQ(unescape(escaped), payload);

    Frame frame;
    std::string wire = encode_frame(i, payload);
    ASSERT_EQ(parse_line(std::string_view(wire).substr(0, wire.size() - 1), frame), FrameError::none);
    ASSERT_EQ(frame.number, static_cast<std::uint32_t>(i));
    ASSERT_EQ(frame.payload, payload);
  }
}

FrameError parse(std::string_view line) {
  Frame frame;
  return parse_line(line, frame);
}

TEST(Codec, RejectsEveryMalformedForm) {
  EXPECT_EQ(parse("no colon"), FrameError::missing_colon);
  EXPECT_EQ(parse(""), FrameError::missing_colon);
  EXPECT_EQ(parse(":payload"), FrameError::empty_number);
  EXPECT_EQ(parse("1a:x"), FrameError::bad_digit);
  EXPECT_EQ(parse("-1:x"), FrameError::bad_digit);
  EXPECT_EQ(parse(" 1:x"), FrameError::bad_digit);
  EXPECT_EQ(parse("+1:x"), FrameError::bad_digit);
  EXPECT_EQ(parse("12345678901:x"), FrameError::number_too_large);  // 11 digits
  EXPECT_EQ(parse("2147483648:x"), FrameError::number_too_large);
  EXPECT_EQ(parse("9999999999:x"), FrameError::number_too_large);
  EXPECT_EQ(parse("1234567890a:x"), FrameError::bad_digit);
}

TEST(Codec, AcceptsTheWholeNumberRange) {
  Frame frame;
  ASSERT_EQ(parse_line("2147483647:x", frame), FrameError::none);
  EXPECT_EQ(frame.number, 2147483647u);
  ASSERT_EQ(parse_line("0000000001:", frame), FrameError::none);  // 10 digits
  EXPECT_EQ(frame.number, 1u);
  ASSERT_EQ(parse_line("0:", frame), FrameError::none);
  EXPECT_EQ(frame.number, 0u);
  EXPECT_EQ(frame.payload, "");
}

TEST(Codec, DescribesErrors) {
  EXPECT_EQ(describe(FrameError::too_long), "frame too long");
  EXPECT_NE(describe(FrameError::missing_colon).find("':'"), std::string_view::npos);
}

TEST(Status, NamesCanonicalCodes) {
  EXPECT_EQ(status_name(Status::ok), "OK");
  EXPECT_EQ(status_name(Status::unavailable), "UNAVAILABLE");
  EXPECT_EQ(status_name(static_cast<Status>(9)), "STATUS_OTHER");
}

// The server keeps a read armed while a call runs (to see a client leave):
// finding the buffer drained meanwhile must not rewind it under that read.
TEST(FrameDecoder, DoesNotRewindUnderAnOutstandingRead) {
  FrameDecoder decoder;
  decoder.prepare(4096);  // room enough that reads need no compaction
  auto put = [&](std::span<char> space, std::string_view bytes) {
    std::copy(bytes.begin(), bytes.end(), space.begin());
    decoder.commit(bytes.size());
  };
  Frame frame;
  FrameError error;
  put(decoder.prepare_read(), "1:a\n");
  ASSERT_EQ(decoder.next(frame, error), FrameDecoder::Result::frame);
  auto outstanding = decoder.prepare_read();  // armed after the consumed bytes
  EXPECT_EQ(decoder.next(frame, error), FrameDecoder::Result::need_more);
  put(outstanding, "1:b\n");
  ASSERT_EQ(decoder.next(frame, error), FrameDecoder::Result::frame);
  EXPECT_EQ(frame.payload, "b");
}

}  // namespace
}  // namespace routing::rpc
