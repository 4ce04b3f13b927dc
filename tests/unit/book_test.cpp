// The book's normalization format (book/normalization.h) and routerd's
// reading of the book's ROUTE and SET_STRATEGY (proxy/book_requests.h).
// Payloads marked "from the book" are copied from justinmeza/planetary
// (normalization/tests/tests.rs, the README's ROUTE example).
#include "book/normalization.h"
#include "proxy/book_requests.h"

#include <gtest/gtest.h>

#include <random>

namespace routing {
namespace {

std::string value_of(std::string_view text, std::string_view name) {
  std::string error;
  auto fields = book::parse_struct(text, error);
  if (!fields) return "<" + error + ">";
  auto raw = book::find(*fields, name);
  if (!raw) return "<missing>";
  auto value = book::string_value(*raw);
  return value ? *value : "<not a string>";
}

TEST(BookNormalization, ReadsTheBooksOwnTestPayloads) {
  // From the book: text "Hello\:\," is "Hello:,"; nested structs stay whole.
  const std::string payload = R"({number: 5,flag: true,text: "Hello\:\,",nested: {number: 8,string: "Hi"}})";
  std::string error;
  auto fields = book::parse_struct(payload, error);
  ASSERT_TRUE(fields) << error;
  ASSERT_EQ(fields->size(), 4u);
  EXPECT_EQ(book::integer_value(*book::find(*fields, "number")), 5);
  EXPECT_EQ(*book::find(*fields, "flag"), "true");
  EXPECT_EQ(value_of(payload, "text"), "Hello:,");
  EXPECT_EQ(*book::find(*fields, "nested"), R"({number: 8,string: "Hi"})");
  EXPECT_EQ(value_of(*book::find(*fields, "nested"), "string"), "Hi");
  // Lists and structs inside lists split only at their own level.
  const std::string lists = R"({numbers: [1,2,3],strings: ["a","b"],structs: [{number: 1,string: "c"}],x: 7})";
  fields = book::parse_struct(lists, error);
  ASSERT_TRUE(fields) << error;
  EXPECT_EQ(*book::find(*fields, "structs"), R"([{number: 1,string: "c"}])");
  EXPECT_EQ(book::integer_value(*book::find(*fields, "x")), 7);
}

TEST(BookNormalization, WritesAsTheBooksWriterDoes) {
  // From the book: {number: 5,flag: true,text: "Hello",nested: {...}} has
  // no space after the commas and one after each colon.
  EXPECT_EQ(book::Writer().integer("number", 5).string("text", "Hello").finish(), R"({number: 5,text: "Hello"})");
  EXPECT_EQ(book::quoted(R"(a\b:c"d,e{f})"), R"("a\\b\:c\"d\,e{f}")");
  // The book's discovery answer for two instances.
  EXPECT_EQ(book::Writer().string("addresses", "127.0.0.1:10100;127.0.0.1:10101").finish(),
            R"({addresses: "127.0.0.1\:10100;127.0.0.1\:10101"})");
}

TEST(BookNormalization, ReadsLeniencyTheBooksReaderAllows) {
  // Fields in any order, unknown ones ignored, spaces anywhere, quotes optional,
  // the last of a repeated name wins.
  EXPECT_EQ(value_of(R"(  { extra: 1 ,  name :"b" , name: "echo" }  )", "name"), "echo");
  EXPECT_EQ(value_of("{message: Hello}", "message"), "Hello");
  EXPECT_EQ(value_of("{}", "name"), "<missing>");
}

TEST(BookNormalization, ReadsWhatTheBooksReaderGetsWrong) {
  // The book's reader strips every trailing quote ("say \"hi\"" -> say "hi\),
  // counts brackets inside strings, and slices UTF-8 by character index.
  EXPECT_EQ(value_of(book::Writer().string("s", R"(say "hi")").finish(), "s"), R"(say "hi")");
  EXPECT_EQ(value_of(R"({a: "x{[",b: "é,y"})", "b"), "é,y");
  EXPECT_EQ(value_of(R"({a: "x{[",b: "é,y"})", "a"), "x{[");
}

TEST(BookNormalization, RefusesWhatIsNotAStruct) {
  for (std::string_view bad : {"", "{", "name: 1", "{name 1}", "{1x: 2}", R"({a: "open})", "{a: [1,2}", "{a: 1}}",
                               R"({"name": "echo"})"}) {
    std::string error;
    EXPECT_FALSE(book::parse_struct(bad, error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  EXPECT_FALSE(book::string_value(R"("abc)"));
  EXPECT_FALSE(book::string_value(R"("ab"c")"));
  EXPECT_FALSE(book::string_value(R"("abc\")"));
  EXPECT_FALSE(book::integer_value("1.5"));
  EXPECT_FALSE(book::integer_value(""));
  EXPECT_EQ(book::integer_value("+12"), 12);
  EXPECT_EQ(book::integer_value("-3"), -3);
}

TEST(BookNormalization, EveryStringComesBackAsWritten) {
  std::mt19937 random(7);
  const std::string alphabet = "ab\\:\",{}[] é;\n";
  for (int round = 0; round < 2000; ++round) {
    std::string value;
    for (int i = static_cast<int>(random() % 12); i > 0; --i) value += alphabet[random() % alphabet.size()];
    const std::string text = book::Writer().string("first", value).integer("n", round).string("last", value).finish();
    ASSERT_EQ(value_of(text, "first"), value) << text;
    ASSERT_EQ(value_of(text, "last"), value) << text;
  }
}

TEST(BookNormalization, TellsTheBooksPayloadsFromJson) {
  EXPECT_TRUE(book::looks_like_struct(R"({name: "echo",procedure_id: 1,payload: "x"})"));
  EXPECT_TRUE(book::looks_like_struct("  { strategy: \"pick-2\"}"));
  EXPECT_FALSE(book::looks_like_struct(R"({"name":"echo","procedure_id":1,"payload":"x"})"));
  EXPECT_FALSE(book::looks_like_struct(R"( { "name":"echo"})"));
  EXPECT_FALSE(book::looks_like_struct("{}"));
  EXPECT_FALSE(book::looks_like_struct("hello"));
  EXPECT_FALSE(book::looks_like_struct(""));
  EXPECT_TRUE(book::is_book_payload(R"({name: "echo"})"));
  EXPECT_FALSE(book::is_book_payload("{oops"));  // routerd answers it as before: invalid JSON
}

TEST(BookRequests, ReadsTheBooksRoute) {
  // From the book (its README): the inner payload is an escaped string.
  proxy::RouteArgs args;
  args.options.idempotent = true;  // a reused RouteArgs: every field is set again
  auto error = proxy::parse_book_route(R"({name: "echo",procedure_id: 1,payload: "{message\: \"Hello RPC!\"}"})", args);
  ASSERT_FALSE(error) << *error;
  EXPECT_EQ(args.name, "echo");
  EXPECT_EQ(args.procedure_id, 1u);
  EXPECT_EQ(args.payload, R"({message: "Hello RPC!"})");
  EXPECT_FALSE(args.options.idempotent);
  EXPECT_FALSE(args.options.timeout);
}

TEST(BookRequests, SaysWhatIsWrongWithABadRoute) {
  proxy::RouteArgs args;
  auto error = [&](std::string_view text) { return proxy::parse_book_route(text, args).value_or("accepted"); };
  EXPECT_EQ(error(R"({procedure_id: 1,payload: "x"})"), "invalid request: missing field 'name'");
  EXPECT_EQ(error(R"({name: "",procedure_id: 1,payload: "x"})"), "invalid request: field 'name' must not be empty");
  EXPECT_EQ(error(R"({name: "echo",payload: "x"})"), "invalid request: missing field 'procedure_id'");
  EXPECT_NE(error(R"({name: "echo",procedure_id: -1,payload: "x"})").find("procedure_id"), std::string::npos);
  EXPECT_NE(error(R"({name: "echo",procedure_id: 4294967296,payload: "x"})").find("procedure_id"), std::string::npos);
  EXPECT_EQ(error(R"({name: "echo",procedure_id: 1})"), "invalid request: missing field 'payload'");
  EXPECT_EQ(error(R"({name: "echo",procedure_id: 1,payload: "x})"), "invalid request: a string or bracket is not closed");
}

TEST(BookRequests, ReadsTheBooksSetStrategy) {
  EXPECT_EQ(proxy::parse_book_set_strategy(R"({strategy: "pick-2"})").strategy, "pick-2");
  EXPECT_EQ(proxy::parse_book_set_strategy("{name: 1}").error, "invalid request: missing field 'strategy'");
}

TEST(BookRequests, AnswersInTheWordsTheBooksClientsKnow) {
  EXPECT_EQ(proxy::book_answer(Reply::success("Hello"), true), "Hello");
  EXPECT_EQ(proxy::book_answer(Reply::error(Status::deadline_exceeded, "deadline"), false), "Operation timed out");
  EXPECT_EQ(proxy::book_answer(Reply::error(Status::unavailable, "down"), true), "Service not available");
  EXPECT_EQ(proxy::book_answer(Reply::error(Status::unimplemented, "no 9"), true), "Unknown procedure");
  EXPECT_EQ(proxy::book_answer(Reply::error(Status::not_found, "no instances of 'x'"), false), "Service not available");
  EXPECT_EQ(proxy::book_answer(Reply::error(Status::not_found, "no such key"), true), "no such key");
  EXPECT_EQ(proxy::book_answer(Reply::error(Status::permission_denied, "permission denied: x"), false),
            "permission denied: x");
}

}  // namespace
}  // namespace routing
