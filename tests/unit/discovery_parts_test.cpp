// Small discovery pieces: URLs, base64, JSON arguments, backoff.
#include "common/backoff.h"
#include "common/base64.h"
#include "common/json_args.h"
#include "discovery/discovery_url.h"
#include "discovery/etcd_keys.h"
#include "discovery/protocol_json.h"
#include "discovery/rpc_discovery.h"

#include <gtest/gtest.h>

#include <random>

namespace routing {
namespace {

using namespace std::chrono_literals;
using discovery::parse_discovery_url;

// The shared etcd watch stream tells names apart by decoding each key.
TEST(EtcdKeys, AKeyDecodesBackToItsName) {
  for (std::string name : {"echo", "echo/sub", "echo%2Fsub", "echo/", "%", "a%25/b", "", "x y"}) {
    auto key = discovery::etcd_instance_key(name, "127.0.0.1:7001");
    EXPECT_EQ(discovery::etcd_name_of_key(key), name) << key;
  }
  EXPECT_EQ(discovery::etcd_name_of_key("/routing/services/echo/sub/1.2.3.4:5"), "echo");  // an old layout's key
  for (std::string escaped : {"a%2f", "a%", "a%2", "%zz", "a/b"}) {
    EXPECT_EQ(discovery::etcd_name_of_key_name(escaped), std::nullopt) << escaped << ": no name escapes to it";
  }
  EXPECT_EQ(discovery::etcd_name_of_key("/routing/services/echo"), std::nullopt);  // no address part
  EXPECT_EQ(discovery::etcd_name_of_key("/elsewhere/echo/1.2.3.4:5"), std::nullopt);
}

TEST(DiscoveryUrl, ParsesTheThreeSchemes) {
  auto rpc = parse_discovery_url("rpc://127.0.0.1:10200");
  EXPECT_EQ(rpc.scheme, "rpc");
  EXPECT_EQ(rpc.endpoints, std::vector<std::string>{"127.0.0.1:10200"});

  auto etcd = parse_discovery_url("etcd://127.0.0.1:2379,127.0.0.2:2379/");
  EXPECT_EQ(etcd.scheme, "etcd");
  EXPECT_EQ(etcd.endpoints, (std::vector<std::string>{"127.0.0.1:2379", "127.0.0.2:2379"}));

  auto fixed = parse_discovery_url("static://echo=127.0.0.1:7002,127.0.0.1:7001;kv=127.0.0.1:7101");
  EXPECT_EQ(fixed.scheme, "static");
  EXPECT_EQ(fixed.fixed["echo"].addresses, (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
  EXPECT_EQ(fixed.fixed["kv"].addresses, std::vector<std::string>{"127.0.0.1:7101"});
  EXPECT_TRUE(parse_discovery_url("static://").fixed.empty());
}

TEST(DiscoveryUrl, RejectsMalformedUrlsWithAReason) {
  for (const char* bad : {"", "127.0.0.1:10200", "http://x:1", "rpc://", "rpc://host",
                          "rpc://a:1,b:2", "etcd://a:1,,b:2", "etcd://a:0", "static://echo",
                          "static://=a:1", "static://echo=nope", "static://echo=a:1,"}) {
    EXPECT_THROW(parse_discovery_url(bad), std::invalid_argument) << bad;
  }
  try {
    parse_discovery_url("ftp://x:1");
  } catch (const std::invalid_argument& e) {
    EXPECT_NE(std::string(e.what()).find("unknown scheme 'ftp'"), std::string::npos);
  }
}

TEST(Base64, MatchesRfc4648Vectors) {
  const std::pair<const char*, const char*> vectors[] = {
      {"", ""}, {"f", "Zg=="}, {"fo", "Zm8="}, {"foo", "Zm9v"},
      {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="}, {"foobar", "Zm9vYmFy"}};
  for (auto [plain, encoded] : vectors) {
    EXPECT_EQ(common::base64_encode(plain), encoded);
    EXPECT_EQ(common::base64_decode(encoded), plain);
  }
}

TEST(Base64, RoundTripsBytesAndRejectsGarbage) {
  std::mt19937 rng(3);
  for (int i = 0; i < 1000; ++i) {
    std::string bytes(rng() % 40, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng());
    ASSERT_EQ(common::base64_decode(common::base64_encode(bytes)), bytes);
  }
  for (const char* bad : {"Zg=", "Z===", "Zg==Zg==", "Zm9v!A==", "=Zg=", "Zm=v"}) {
    EXPECT_FALSE(common::base64_decode(bad)) << bad;
  }
}

TEST(JsonArgs, ReadsTypedFields) {
  common::JsonArgs args(R"({"name":"echo","ttl_ms":500,"idempotent":true,"extra":[1]})");
  EXPECT_EQ(args.required_string("name"), "echo");
  EXPECT_EQ(args.optional_integer("ttl_ms", 1, 1000), 500);
  EXPECT_EQ(args.optional_bool("idempotent"), true);
  EXPECT_FALSE(args.optional_string("absent"));
  EXPECT_TRUE(args.ok());
}

TEST(JsonArgs, KeepsTheFirstError) {
  for (const char* payload : {"not json", "[1,2]", "\"text\"", "{\"name\":5}", "{}",
                              "{\"name\":\"x\",\"ttl_ms\":\"5\"}", "{\"name\":\"x\",\"ttl_ms\":1.5}",
                              "{\"name\":\"x\",\"ttl_ms\":0}", "{\"name\":\"x\",\"ttl_ms\":18446744073709551615}"}) {
    common::JsonArgs args(payload);
    args.required_string("name");
    args.optional_integer("ttl_ms", 1, 1000);
    EXPECT_FALSE(args.ok()) << payload;
    EXPECT_FALSE(args.error().empty());
  }
}

TEST(Backoff, DoublesWithJitterUpToTheCap) {
  common::Backoff backoff(100ms, 1000ms);
  std::chrono::milliseconds ceiling = 100ms;
  for (int i = 0; i < 10; ++i) {
    auto pause = backoff.next();
    EXPECT_GE(pause, ceiling / 2);
    EXPECT_LE(pause, ceiling);
    ceiling = std::min(ceiling * 2, std::chrono::milliseconds(1000));
  }
  backoff.reset();
  EXPECT_LE(backoff.next(), 100ms);
}

TEST(AddressSetJson, ParsesListAnswers) {
  auto set = discovery::parse_address_set(R"({"addresses":["b:1","a:1"],"index":7})");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->addresses, (std::vector<std::string>{"a:1", "b:1"}));
  EXPECT_EQ(set->index, 7u);
  EXPECT_FALSE(discovery::parse_address_set(R"({"addresses":[1],"index":7})"));
  EXPECT_FALSE(discovery::parse_address_set(R"({"addresses":[],"index":-1})"));
  EXPECT_FALSE(discovery::parse_address_set("nope"));
}

TEST(DiscoveryArgs, ReadsRegisterWithItsDefaultLease) {
  std::string error;
  auto args = discovery::parse_register_args(R"({"name":"echo","address":"127.0.0.1:7001","x":[1]})", error);
  ASSERT_TRUE(args) << error;
  EXPECT_EQ(args->name, "echo");
  EXPECT_EQ(args->address, "127.0.0.1:7001");
  EXPECT_EQ(args->ttl_ms, discovery::default_ttl_ms);
}

TEST(DiscoveryArgs, RejectsEachBadFieldWithItsReason) {
  struct Case {
    const char* payload;
    const char* reason;
  };
  for (auto [payload, reason] : std::initializer_list<Case>{
           {R"({"name":"","address":"h:1"})", "must not be empty"},
           {R"({"name":"e","address":"h:0"})", "port in 1..65535"},
           {R"({"name":"e","address":"nope"})", "host:port"},
           {R"({"name":"e","address":"h:1","ttl_ms":0})", "ttl_ms"},
           {R"({"name":"e","address":"h:1","ttl_ms":604800001})", "ttl_ms"},
           {R"({"name":7,"address":"h:1"})", "name"},
           {R"([1,2])", "object"},
           {R"({"name":"e")", "invalid JSON"}}) {
    std::string error;
    EXPECT_FALSE(discovery::parse_register_args(payload, error)) << payload;
    EXPECT_NE(error.find(reason), std::string::npos) << payload << " -> " << error;
  }
  std::string error;
  EXPECT_FALSE(discovery::parse_query_args(R"({"name":")" + std::string(2000, 'n') + R"("})", error));
  EXPECT_NE(error.find("too long"), std::string::npos);
  EXPECT_FALSE(discovery::parse_deregister_args(R"({"name":"e"})", error));
}

TEST(DiscoveryArgs, CapsLongPollsAndRejectsNegativeIndexes) {
  std::string error;
  auto list = discovery::parse_list_args(R"({"name":"e","index":3,"wait_ms":99999999999})", error);
  ASSERT_TRUE(list) << error;
  EXPECT_EQ(list->index, 3);
  EXPECT_EQ(list->wait_ms, discovery::max_wait_ms);
  EXPECT_FALSE(discovery::parse_list_args(R"({"name":"e","index":-1})", error));
  EXPECT_FALSE(discovery::parse_list_args(R"({"name":"e","wait_ms":1.5})", error));
}

TEST(DiscoveryArgs, ReadsTheMultiNameList) {
  std::string error;
  auto list = discovery::parse_list_args(R"({"names":["a","b","a"],"index":3,"wait_ms":10})", error);
  ASSERT_TRUE(list) << error;
  EXPECT_EQ(list->names, (std::vector<std::string>{"a", "b", "a"}));  // duplicates kept: the service folds them
  EXPECT_TRUE(list->name.empty());
  EXPECT_EQ(list->index, 3);
  EXPECT_EQ(list->wait_ms, 10);
  EXPECT_FALSE(discovery::parse_list_args(R"({"name":"a"})", error)->names);
  for (const std::string& bad : std::vector<std::string>{
           R"({"names":"a"})", R"({"names":[]})", R"({"names":["a",1]})", R"({"names":["a",""]})",
           R"({"names":["a"],"name":"a"})", R"({"names":["a","b","c"]})",
           R"({"names":[")" + std::string(2000, 'n') + R"("]})"}) {
    error.clear();
    EXPECT_FALSE(discovery::parse_list_args(bad, error, 2)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
  }
  discovery::parse_list_args(R"({"names":["a","b","c"]})", error, 2);
  EXPECT_NE(error.find("at most 2"), std::string::npos) << error;
}

TEST(AddressSetJson, RoundTripsMultiNameAnswers) {
  discovery::NamedSets answer{
      42, {{"echo", {{"a:1", "b:1"}, 7, {}}}, {"ghost", {{}, 0, {}}}, {"q\"uote", {{"c:1"}, 9, {}}}}};
  auto text = discovery::named_sets_json(answer);
  EXPECT_EQ(text.substr(0, 19), R"({"index":42,"sets":)");
  EXPECT_EQ(discovery::parse_named_sets(text), answer);
  // Each set is written exactly as the single-name LIST answer.
  EXPECT_NE(text.find(R"("echo":)" + discovery::address_set_json(answer.sets[0].second)), std::string::npos);
  EXPECT_FALSE(discovery::parse_named_sets(R"({"index":1})"));
  EXPECT_FALSE(discovery::parse_named_sets(R"({"index":1,"sets":{"a":{"addresses":[1],"index":1}}})"));
  EXPECT_FALSE(discovery::parse_named_sets(R"({"index":-1,"sets":{}})"));
}

TEST(AddressSetJson, RoundTripsListAnswers) {
  discovery::AddressSet set{{"127.0.0.1:1", "[::1]:2", "a\"b:3"}, 18446744073709551615ull, {}};
  EXPECT_EQ(discovery::parse_address_set(discovery::address_set_json(set)), set);
}

}  // namespace
}  // namespace routing
