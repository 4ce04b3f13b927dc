// The fast ROUTE scanner and answer writer against Boost.JSON: wherever the
// scanner accepts, the full parser must agree field by field.
#include "proxy/route_args.h"
#include "proxy/route_json.h"

#include <boost/json/serialize.hpp>
#include <boost/json/string.hpp>
#include <gtest/gtest.h>

namespace routing::proxy {
namespace {

void expect_same(const RouteArgs& a, const RouteArgs& b, std::string_view input) {
  EXPECT_EQ(a.name, b.name) << input;
  EXPECT_EQ(a.procedure_id, b.procedure_id) << input;
  EXPECT_EQ(a.payload, b.payload) << input;
  EXPECT_EQ(a.options.timeout, b.options.timeout) << input;
  EXPECT_EQ(a.options.idempotent, b.options.idempotent) << input;
}

TEST(RouteJson, ScannerAcceptsTheCommonShapesAndAgreesWithTheFullParser) {
  const char* inputs[] = {
      R"({"name":"echo","procedure_id":1,"payload":"hello"})",
      R"( { "name" : "echo" , "procedure_id" : 0 , "payload" : "" } )",
      "{\"name\":\"echo\",\n\t\"procedure_id\":2147483647,\r\n\"payload\":\"x\"}",
      R"({"procedure_id":7,"payload":"a\"b\\c\/d\b\f\n\r\t","name":"s"})",
      R"({"name":"echo","procedure_id":1,"payload":"\u00e9\u20ac\ud83d\ude00\u0000"})",
      R"({"name":"échø","procedure_id":1,"payload":"€ 😀"})",
      R"({"name":"echo","procedure_id":1,"payload_base64":"/wA="})",
      R"({"name":"echo","procedure_id":1,"payload":"x","timeout_ms":250,"idempotent":true})",
      R"({"name":"echo","procedure_id":1,"payload":"x","timeout_ms":3600000,"idempotent":false})",
      R"({"name":"echo","procedure_id":1,"payload":"x","extra":"y","more":12,"flag":null,"b":false})",
  };
  for (std::string_view input : inputs) {
    auto fast = scan_route_args(input);
    ASSERT_TRUE(fast.has_value()) << input;
    auto full = parse_route_args_with_tree(input);
    ASSERT_TRUE(std::holds_alternative<RouteArgs>(full)) << input << ": " << std::get<std::string>(full);
    expect_same(*fast, std::get<RouteArgs>(full), input);
  }
}

TEST(RouteJson, ScannerLeavesErrorsAndUnusualShapesToTheFullParser) {
  const char* inputs[] = {
      "", "[]", "{", "{}", "null", R"({"name":"echo"})", R"({"name":"","procedure_id":1,"payload":"x"})",
      R"({"name":"echo","procedure_id":-1,"payload":"x"})",
      R"({"name":"echo","procedure_id":1.0,"payload":"x"})",
      R"({"name":"echo","procedure_id":1e2,"payload":"x"})",
      R"({"name":"echo","procedure_id":01,"payload":"x"})",
      R"({"name":"echo","procedure_id":2147483648,"payload":"x"})",
      R"({"name":"echo","procedure_id":1,"payload":"x","payload_base64":"eA=="})",
      R"({"name":"echo","procedure_id":1,"payload_base64":"!!"})",
      R"({"name":"echo","procedure_id":1,"payload":7})",
      R"({"name":"echo","name":"other","procedure_id":1,"payload":"x"})",
      R"({"name":"echo","procedure_id":1,"payload":"x","timeout_ms":0})",
      R"({"name":"echo","procedure_id":1,"payload":"x","idempotent":"yes"})",
      R"({"name":"echo","procedure_id":1,"payload":"x","nested":{"a":1}})",
      R"({"name":"echo","procedure_id":1,"payload":"\ud800"})",
      R"({"name":"echo","procedure_id":1,"payload":"\x"})",
      "{\"name\":\"echo\",\"procedure_id\":1,\"payload\":\"\xff\"}",
      "{\"name\":\"echo\",\"procedure_id\":1,\"payload\":\"a\nb\"}",
      R"({"name":"echo","procedure_id":1,"payload":"x"} trailing)",
      R"({"name":"echo","procedure_id":1,"payload":"x",})",
  };
  for (std::string_view input : inputs) {
    EXPECT_FALSE(scan_route_args(input).has_value()) << input;
    // And parse_route_args still explains why (or accepts what is valid).
    auto full = parse_route_args(input);
    auto tree = parse_route_args_with_tree(input);
    EXPECT_EQ(full.index(), tree.index()) << input;
  }
}

// routerd parses every call into one RouteArgs per thread: nothing of an
// earlier call may leak into the next (a timeout, an idempotent flag, a
// payload), whichever way (scanner or full parser) either went.
TEST(RouteJson, ParsingIntoAReusedRouteArgsLeavesNothingOfTheLastCall) {
  const char* inputs[] = {
      R"({"name":"echo","procedure_id":1,"payload":"x","timeout_ms":250,"idempotent":true})",
      R"({"name":"kv","procedure_id":2,"payload":"a much longer payload than the first one, to grow"})",
      R"({"name":"echo","procedure_id":3,"payload_base64":"/wA="})",
      R"({"name":"e","procedure_id":4,"payload":"short"})",
      R"({"name":"echo","procedure_id":1,"payload":"x","nested":{"a":1},"timeout_ms":9})",
      R"({"name":"echo","procedure_id":5,"payload":""})",
  };
  RouteArgs reused;
  for (std::string_view input : inputs) {
    auto error = parse_route_args(input, reused);
    ASSERT_FALSE(error.has_value()) << input << ": " << *error;
    auto fresh = parse_route_args(input);
    ASSERT_TRUE(std::holds_alternative<RouteArgs>(fresh)) << input;
    expect_same(reused, std::get<RouteArgs>(fresh), input);
  }
  EXPECT_EQ(parse_route_args(R"({"name":"echo"})", reused), std::get<std::string>(parse_route_args(R"({"name":"echo"})")));
}

TEST(RouteJson, StringsAreWrittenAsBoostJsonWritesThem) {
  std::string every_ascii;
  for (int c = 0; c < 0x80; ++c) every_ascii += static_cast<char>(c);
  for (std::string_view text : {std::string_view(every_ascii), std::string_view("plain"), std::string_view(""),
                                std::string_view("é€😀 \"q\" \\")}) {
    std::string ours;
    append_json_string(ours, text);
    EXPECT_EQ(ours, boost::json::serialize(boost::json::string(text)));
  }
}

TEST(RouteJson, AnswersAreValidJson) {
  EXPECT_EQ(backend_answer(Reply::success("a\"b\n"), 1 << 20).payload, R"({"payload":"a\"b\n"})");
  EXPECT_EQ(backend_answer(Reply::success(std::string("\xff\x00", 2)), 1 << 20).payload, R"({"payload_base64":"/wA="})");
  EXPECT_EQ(router_error(Status::not_found, "no instances of 'x'").payload, R"({"error":"no instances of 'x'"})");
  EXPECT_EQ(unwrap_answer(backend_answer(Reply::success("round \u00e9 trip"), 1 << 20)).payload, "round \u00e9 trip");
}

}  // namespace
}  // namespace routing::proxy
