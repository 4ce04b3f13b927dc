// Zones, weights and meta (CONTRACT §11) as discovery reads and writes them:
// REGISTER's arguments, LIST answers (alone and multi-name), etcd values and
// static:// URLs. Each test names the rule it holds to.
#include "discovery/discovery_url.h"
#include "discovery/etcd_keys.h"
#include "discovery/placement_rules.h"
#include "discovery/protocol_json.h"
#include "rpc/codec.h"

#include <gtest/gtest.h>

namespace routing::discovery {
namespace {

Placement placement(std::string zone, std::uint32_t weight, std::map<std::string, std::string> meta = {}) {
  return Placement{std::move(zone), weight, std::move(meta)};
}

std::string register_with(const std::string& fields) {
  return R"({"name":"echo","address":"127.0.0.1:7001",)" + fields + "}";
}

// The parse error of `payload`, or "" when it parsed.
std::string register_error(const std::string& payload) {
  std::string error;
  return parse_register_args(payload, error) ? "" : error;
}

TEST(RegisterPlacement, ReadsZoneWeightAndMeta) {
  std::string error;
  auto args = parse_register_args(
      register_with(R"("zone":"us-east-1a","weight":50,"meta":{"version":"1.2","rack":"r7"})"), error);
  ASSERT_TRUE(args) << error;
  EXPECT_EQ(args->placement, placement("us-east-1a", 50, {{"version", "1.2"}, {"rack", "r7"}}));
}

TEST(RegisterPlacement, AbsentFieldsAreTheDefaults) {
  std::string error;
  auto args = parse_register_args(R"({"name":"echo","address":"127.0.0.1:7001"})", error);
  ASSERT_TRUE(args) << error;
  EXPECT_TRUE(args->placement.is_default());
  EXPECT_EQ(args->placement.weight, 100u);
}

TEST(RegisterPlacement, AcceptsEachFieldAtItsBounds) {
  const std::string meta_key(2000, 'k');
  const std::string meta_value(2096, 'v');  // key and value: exactly 4096 bytes
  for (const std::string& fields :
       {R"("zone":")" + std::string(64, 'z') + R"(")", std::string(R"("zone":"")"), std::string(R"("weight":1)"),
        std::string(R"("weight":1000)"), std::string(R"("zone":"Us_East.1-a")"), std::string(R"("meta":{})"),
        R"("meta":{")" + meta_key + R"(":")" + meta_value + R"("})"}) {
    EXPECT_EQ(register_error(register_with(fields)), "") << fields;
  }
}

TEST(RegisterPlacement, RejectsEachBadFieldWithItsReason) {
  struct Case {
    std::string fields;
    std::string reason;
  };
  for (const auto& [fields, reason] : std::vector<Case>{
           {R"("zone":5)", R"(field "zone" must be a string)"},
           {R"("zone":null)", R"(field "zone" must be a string)"},
           {R"("zone":")" + std::string(65, 'z') + R"(")", R"(field "zone": a zone is at most 64 characters)"},
           {R"("zone":"us\neast")", R"(field "zone": a zone has only letters, digits, '.', '_' and '-')"},
           {R"("zone":"a\u0000")", R"(field "zone": a zone has only letters, digits, '.', '_' and '-')"},
           {R"("zone":"us east")", R"(field "zone": a zone has only letters, digits, '.', '_' and '-')"},
           {R"("zone":"a@b")", R"(field "zone": a zone has only letters, digits, '.', '_' and '-')"},
           {R"("zone":"é")", R"(field "zone": a zone has only letters, digits, '.', '_' and '-')"},
           {R"("weight":0)", R"(field "weight" must be in 1..1000)"},
           {R"("weight":1001)", R"(field "weight" must be in 1..1000)"},
           {R"("weight":-5)", R"(field "weight" must be in 1..1000)"},
           {R"("weight":18446744073709551615)", R"(field "weight" must be in 1..1000)"},
           {R"("weight":50.5)", R"(field "weight" must be an integer)"},
           {R"("weight":"50")", R"(field "weight" must be an integer)"},
           {R"("meta":[])", R"(field "meta" must be an object)"},
           {R"("meta":"k=v")", R"(field "meta" must be an object)"},
           {R"("meta":{"a":"1","b":2})", R"(field "meta" must map keys to strings ("b" does not))"},
           {R"("meta":{"a":{"b":"c"}})", R"(field "meta" must map keys to strings ("a" does not))"},
           {R"("meta":{"k":")" + std::string(4096, 'v') + R"("})",
            R"(field "meta" must hold at most 4096 bytes of keys and values (got 4097))"}}) {
    EXPECT_EQ(register_error(register_with(fields)), reason) << fields;
  }
}

TEST(ListInstances, AnswersCarryEveryInstanceInAddressOrder) {
  AddressSet set{{"a:1", "b:1"}, 7, {}};
  set.place("a:1", placement("z1", 5, {{"k", "v"}}));
  EXPECT_EQ(address_set_json(set),
            R"({"addresses":["a:1","b:1"],"index":7,"instances":[)"
            R"({"address":"a:1","zone":"z1","weight":5,"meta":{"k":"v"}},)"
            R"({"address":"b:1","zone":"","weight":100,"meta":{}}]})");
}

TEST(ListInstances, RoundTripPlacements) {
  AddressSet set{{"127.0.0.1:1", "[::1]:2", "a\"b:3"}, 42, {}};
  set.place("[::1]:2", placement("eu-west-1", 1000, {{"a\\b", "line\nfeed"}, {"", ""}}));
  set.place("a\"b:3", placement("", 1));
  auto parsed = parse_address_set(address_set_json(set));
  ASSERT_TRUE(parsed);
  EXPECT_EQ(*parsed, set);
  EXPECT_EQ(parsed->placement_of("127.0.0.1:1"), Placement{});
}

TEST(ListInstances, AnAnswerWithoutInstancesGivesDefaults) {
  auto set = parse_address_set(R"({"addresses":["b:1","a:1"],"index":3})");  // a discoveryd before §11
  ASSERT_TRUE(set);
  EXPECT_EQ(set->addresses, (std::vector<std::string>{"a:1", "b:1"}));
  EXPECT_TRUE(set->placements.empty());
  // Absent fields of an instance are defaults too.
  set = parse_address_set(R"({"addresses":["a:1"],"index":3,"instances":[{"address":"a:1","zone":"z"}]})");
  ASSERT_TRUE(set);
  EXPECT_EQ(set->placement_of("a:1"), placement("z", 100));
}

TEST(ListInstances, RejectsMalformedInstances) {
  const std::string head = R"({"addresses":["a:1"],"index":3,"instances":)";
  for (const std::string& instances : {
           std::string(R"({})"), std::string(R"("a:1")"), std::string(R"([1])"), std::string(R"([{}])"),
           std::string(R"([{"address":7}])"), std::string(R"([{"address":"b:1"}])"),
           std::string(R"([{"address":"a:1","zone":1}])"),
           R"([{"address":"a:1","zone":")" + std::string(65, 'z') + R"("}])",
           std::string(R"([{"address":"a:1","zone":"a\nb"}])"), std::string(R"([{"address":"a:1","weight":0}])"),
           std::string(R"([{"address":"a:1","weight":1001}])"), std::string(R"([{"address":"a:1","weight":-1}])"),
           std::string(R"([{"address":"a:1","weight":"5"}])"), std::string(R"([{"address":"a:1","weight":2.5}])"),
           std::string(R"([{"address":"a:1","meta":[]}])"), std::string(R"([{"address":"a:1","meta":{"k":1}}])"),
           R"([{"address":"a:1","meta":{"k":")" + std::string(4096, 'v') + R"("}}])"}) {
    EXPECT_FALSE(parse_address_set(head + instances + "}")) << instances;
  }
}

TEST(ListInstances, MultiNameAnswersCarryPlacements) {
  NamedSets answer{42, {{"echo", {{"a:1", "b:1"}, 7, {}}}, {"ghost", {{}, 0, {}}}}};
  answer.sets[0].second.place("b:1", placement("z", 3, {{"k", "v"}}));
  auto text = named_sets_json(answer);
  EXPECT_EQ(parse_named_sets(text), answer);
  EXPECT_NE(text.find(R"("echo":)" + address_set_json(answer.sets[0].second)), std::string::npos);
  EXPECT_FALSE(parse_named_sets(
      R"({"index":1,"sets":{"a":{"addresses":["a:1"],"index":1,"instances":[{"address":"a:1","weight":0}]}}})"));
}

// What one instance adds to a LIST line (Registry::list_bytes sums it) is
// never less than what the line holds for it, with frame escaping.
TEST(ListInstances, EntryBytesBoundTheLine) {
  AddressSet set{{"a\\b:1", "c:1"}, 18446744073709551615ull, {}};
  set.place("a\\b:1", placement("z-1", 7, {{"\n\r\\", std::string("\x01\x1f\"\\\n", 5)}}));
  std::size_t bound = list_frame_overhead;
  for (const auto& address : set.addresses) bound += list_entry_bytes(address, set.placement_of(address));
  std::string line = rpc::escape(address_set_json(set));
  EXPECT_LE(line.size() + 2, bound);  // "0:" + payload
  AddressSet empty{{}, 18446744073709551615ull, {}};
  EXPECT_LE(rpc::escape(address_set_json(empty)).size() + 2, list_frame_overhead);
}

TEST(InstanceJson, RoundTripsAndReadsAbsentFieldsAsDefaults) {
  auto one = placement("z", 9, {{"k", "v"}});
  EXPECT_EQ(parse_instance(instance_json("[::1]:7001", one)), std::pair(std::string("[::1]:7001"), one));
  EXPECT_EQ(parse_instance(R"({"address":"a:1"})"), std::pair(std::string("a:1"), Placement{}));
  EXPECT_FALSE(parse_instance(R"({"zone":"z"})"));
  EXPECT_FALSE(parse_instance("a:1"));
}

// etcd keeps the bare address for a default placement (what older readers
// understand) and the instance object otherwise, and reads both.
TEST(EtcdValues, WriteTheBareAddressUnlessThereIsAPlacement) {
  EXPECT_EQ(etcd_instance_value("127.0.0.1:7001", {}), "127.0.0.1:7001");
  auto zoned = placement("a", 50);
  EXPECT_EQ(etcd_instance_value("127.0.0.1:7001", zoned), instance_json("127.0.0.1:7001", zoned));
  EXPECT_EQ(etcd::instance_of_value("127.0.0.1:7001"), (etcd::Instance{"127.0.0.1:7001", {}}));
  EXPECT_EQ(etcd::instance_of_value(etcd_instance_value("[::1]:1", zoned)), (etcd::Instance{"[::1]:1", zoned}));
  EXPECT_FALSE(etcd::instance_of_value(R"({"address":"a:1","weight":0})"));
  EXPECT_FALSE(etcd::instance_of_value("{not json"));
}

TEST(EtcdValues, SetsCarryThePlacements) {
  std::map<std::string, etcd::Instance> kvs{{"/k/b", {"b:1", placement("z", 5)}}, {"/k/a", {"a:1", {}}}};
  AddressSet set = etcd::set_of(kvs, 12);
  EXPECT_EQ(set.addresses, (std::vector<std::string>{"a:1", "b:1"}));
  EXPECT_EQ(set.index, 12u);
  EXPECT_EQ(set.placements, (std::map<std::string, Placement>{{"b:1", placement("z", 5)}}));
}

TEST(StaticUrlPlacement, ReadsZonesAndWeights) {
  auto url = parse_discovery_url(
      "static://echo=127.0.0.1:7001@a,127.0.0.1:7002@b*50,127.0.0.1:7003*7,127.0.0.1:7004;kv=[::1]:7101@z*1000");
  const AddressSet& echo = url.fixed["echo"];
  EXPECT_EQ(echo.addresses,
            (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002", "127.0.0.1:7003", "127.0.0.1:7004"}));
  EXPECT_EQ(echo.placement_of("127.0.0.1:7001"), placement("a", 100));
  EXPECT_EQ(echo.placement_of("127.0.0.1:7002"), placement("b", 50));
  EXPECT_EQ(echo.placement_of("127.0.0.1:7003"), placement("", 7));
  EXPECT_EQ(echo.placements.size(), 3u) << "the default placement is not stored";
  EXPECT_EQ(url.fixed["kv"].addresses, std::vector<std::string>{"[::1]:7101"});
  EXPECT_EQ(url.fixed["kv"].placement_of("[::1]:7101"), placement("z", 1000));
}

TEST(StaticUrlPlacement, Ipv6AddressesTakeZonesAndWeights) {
  auto url = parse_discovery_url("static://echo=[::1]:7001@a,[fe80::1]:7002*3,[::1]:7003");
  EXPECT_EQ(url.fixed["echo"].addresses, (std::vector<std::string>{"[::1]:7001", "[::1]:7003", "[fe80::1]:7002"}));
  EXPECT_EQ(url.fixed["echo"].placement_of("[::1]:7001"), placement("a", 100));
  EXPECT_EQ(url.fixed["echo"].placement_of("[fe80::1]:7002"), placement("", 3));
}

TEST(StaticUrlPlacement, AnAddressListedTwiceNeedsTheSamePlacement) {
  auto url = parse_discovery_url("static://echo=a:1@z*5,a:1@z*5");
  EXPECT_EQ(url.fixed["echo"].addresses, std::vector<std::string>{"a:1"});
  EXPECT_THROW(parse_discovery_url("static://echo=a:1@z,a:1@y"), std::invalid_argument);
  EXPECT_THROW(parse_discovery_url("static://echo=a:1,a:1*5"), std::invalid_argument);
}

TEST(StaticUrlPlacement, RejectsBadZonesAndWeightsWithAReason) {
  struct Case {
    std::string url;
    std::string reason;
  };
  for (const auto& [url, reason] : std::vector<Case>{
           {"static://echo=a:1@", "'a:1@' has an empty zone after '@'"},
           {"static://echo=a:1@*5", "'a:1@*5' has an empty zone after '@'"},
           {"static://echo=a:1*0", "the weight of 'a:1*0' must be a number in 1..1000, got '0'"},
           {"static://echo=a:1*1001", "must be a number in 1..1000, got '1001'"},
           {"static://echo=a:1*", "got ''"},
           {"static://echo=a:1*x", "got 'x'"},
           {"static://echo=a:1*-1", "got '-1'"},
           {"static://echo=a:1*+5", "got '+5'"},
           {"static://echo=a:1*5 ", "got '5 '"},
           {"static://echo=a:1*99999999999999999999", "must be a number in 1..1000"},
           {"static://echo=a:1*5@z", "got '5@z'"},  // the zone comes first
           {"static://echo=a:1@" + std::string(65, 'z'), "the zone of 'a:1@zz"},
           {"static://echo=a:1@z\x01", "the zone of 'a:1@z\x01': a zone has only letters, digits"},
           {"static://echo=a:1@z,a:1@y", "'a:1' is listed twice with different zones or weights"},
           {"static://echo=nope@z", "'nope' is not host:port"},
           {"static://echo=@z", "'' is not host:port"}}) {
    try {
      parse_discovery_url(url);
      ADD_FAILURE() << url << " was accepted";
    } catch (const std::invalid_argument& e) {
      EXPECT_NE(std::string(e.what()).find(reason), std::string::npos) << url << " -> " << e.what();
      EXPECT_NE(std::string(e.what()).find("discovery URL '"), std::string::npos) << e.what();
    }
  }
}

TEST(PlacementRules, NameTheFieldThatBreaksOne) {
  EXPECT_EQ(placement_problem({}), std::nullopt);
  EXPECT_EQ(placement_problem(placement("a b", 100)).value_or(""),
            "zone: a zone has only letters, digits, '.', '_' and '-'");
  EXPECT_EQ(placement_problem(placement("", 0)).value_or(""), "weight must be in 1..1000 (got 0)");
  EXPECT_EQ(placement_problem(placement("", 100, {{"k", std::string(4095, 'v')}})), std::nullopt);
  EXPECT_EQ(placement_problem(placement("", 100, {{"k", std::string(4096, 'v')}})).value_or(""),
            "meta must hold at most 4096 bytes of keys and values (got 4097)");
}

}  // namespace
}  // namespace routing::discovery
