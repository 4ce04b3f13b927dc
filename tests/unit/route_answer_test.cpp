// The frame-limit rule of ROUTE answers (proxy/route_answer.h): every answer
// routerd writes for a backend's payload fits the frame limit, in the
// preferred form that fits, or is refused with 8; and the line size it
// reckons without writing is the size it writes.
#include "proxy/route_answer.h"
#include "proxy/route_args.h"
#include "proxy/route_json.h"
#include "rpc/codec.h"

#include <gtest/gtest.h>

#include <string>

namespace routing::proxy {
namespace {

std::size_t line_bytes(Status status, std::string_view payload) {
  return rpc::encode_frame(static_cast<std::uint32_t>(status), payload).size() - 1;  // without its '\n'
}

std::string json_string(std::string_view text) {
  std::string out;
  append_json_string(out, text);
  return out;
}

TEST(RouteAnswer, ReckonsTheLineBytesOfAJsonStringExactly) {
  std::string every_byte_below_0x80;
  for (int c = 0; c < 0x80; ++c) every_byte_below_0x80 += static_cast<char>(c);
  for (std::string_view text : {std::string_view(every_byte_below_0x80), std::string_view(""),
                                std::string_view("plain"), std::string_view("é€😀 \"q\" \\ \n\r\x01")}) {
    EXPECT_EQ(json_string_line_bytes(text), rpc::escape(json_string(text)).size()) << text;
  }
}

// A payload that fits only as base64, and one that fits in no form: the
// finding was an answer of control bytes growing 7-fold past the limit.
TEST(RouteAnswer, ControlBytesComeBackAsBase64OrAClearError) {
  const std::size_t limit = 1000;
  std::string fits_as_base64(700, '\x01');  // 4902 bytes as text, 955 as base64
  Reply answer = backend_answer(Reply::success(fits_as_base64), limit);
  EXPECT_EQ(answer.status, Status::ok);
  EXPECT_EQ(answer.payload.rfind("{\"payload_base64\":", 0), 0u);
  EXPECT_LE(line_bytes(answer.status, answer.payload), limit);
  EXPECT_EQ(unwrap_answer(answer).payload, fits_as_base64);

  std::string fits_nowhere(900, '\x01');
  std::string out = "untouched";
  EXPECT_EQ(append_backend_answer(out, Status::ok, fits_nowhere, limit), AnswerForm::too_large);
  EXPECT_EQ(out, "untouched");
  Reply refused = backend_answer(Reply::success(fits_nowhere), limit);
  EXPECT_EQ(refused.status, Status::resource_exhausted);
  EXPECT_EQ(unwrap_answer(refused).payload,
            "the backend's answer (900 bytes) does not fit in a frame of 1000 bytes, neither as JSON text nor as base64");
}

// At the limit exactly, text; one byte more, base64; each written answer fits.
TEST(RouteAnswer, PrefersTextUpToTheLastByteThatFits) {
  const std::size_t limit = 200;
  for (Status status : {Status::ok, Status::unavailable}) {
    std::string prefix = std::to_string(static_cast<int>(status)) + ":";
    std::size_t text_room = limit - prefix.size() - std::string_view("{\"payload\":\"\"}").size();
    std::string exact(text_room / 3, '\n');  // 3 bytes each on the line: \\n
    exact += std::string(text_room % 3, 'a');
    std::string out;
    ASSERT_EQ(append_backend_answer(out, status, exact, limit), AnswerForm::text);
    EXPECT_EQ(line_bytes(status, out), limit);
    out.clear();
    ASSERT_EQ(append_backend_answer(out, status, exact + "a", limit), AnswerForm::base64_to_fit);
    EXPECT_LE(line_bytes(status, out), limit);
  }
}

TEST(RouteAnswer, EveryFormItWritesFitsTheLimit) {
  const std::string samples[] = {std::string(300, '"'), std::string(300, '\\'), std::string(300, '\0'),
                                 std::string(300, 'x'), std::string(150, '\xff'), "é€😀\x7f\x1f"};
  for (const auto& payload : samples) {
    for (std::size_t limit = 16; limit < 2500; limit += 7) {
      std::string out;
      if (append_backend_answer(out, Status::ok, payload, limit) == AnswerForm::too_large) continue;
      EXPECT_LE(line_bytes(Status::ok, out), limit) << limit;
      EXPECT_EQ(unwrap_answer({Status::ok, out}).payload, payload);
    }
  }
}

TEST(RouteAnswer, RequestsUseTheSmallerFormOnTheLine) {
  auto request = [](std::string_view payload) { return route_args_json("echo", 1, payload, CallOptions{}); };
  EXPECT_NE(request("hello\n").find("\"payload\":"), std::string::npos);
  EXPECT_NE(request(std::string(1000, '\x01')).find("\"payload_base64\":"), std::string::npos);
  EXPECT_NE(request("\xff").find("\"payload_base64\":"), std::string::npos);
}

TEST(RouteAnswer, RouterErrorsStayShort) {
  std::string long_name(5000, 'n');
  Reply error = router_error(Status::not_found, "no instances of '" + long_name + "'");
  EXPECT_EQ(unwrap_answer(error).payload.size(), max_error_message_bytes);
  std::string accents = std::string(max_error_message_bytes - 1, 'x') + "éé";  // the limit falls inside an é
  std::string cut = unwrap_answer(router_error(Status::not_found, accents)).payload;
  EXPECT_TRUE(is_valid_utf8(cut));  // never cut inside a character
  EXPECT_EQ(cut.size(), max_error_message_bytes - 1);
}

}  // namespace
}  // namespace routing::proxy
