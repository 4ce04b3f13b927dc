// discoveryd's procedures over the wire (CONTRACT §2).
#include "discovery/protocol_json.h"
#include "discovery/rpc_discovery.h"
#include "rpc/blocking_client.h"
#include "support/eventually.h"
#include "support/raw_socket.h"
#include "support/test_discoveryd.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class DiscoverydTest : public ::testing::Test {
 protected:
  Reply call(std::uint32_t procedure, std::string payload) { return client_.call(procedure, payload); }
  discovery::AddressSet list(const std::string& name) {
    Reply reply = call(3, R"({"name":")" + name + R"("})");
    EXPECT_TRUE(reply.ok()) << reply.payload;
    return discovery::parse_address_set(reply.payload).value_or(discovery::AddressSet{});
  }
  TestDiscoveryd discoveryd_;
  rpc::BlockingClient client_{discoveryd_.address(), 15s};
};

TEST_F(DiscoverydTest, RegistersQueriesListsAndDeregisters) {
  EXPECT_EQ(call(1, R"({"name":"echo","address":"127.0.0.1:7001","ttl_ms":10000})").payload, R"({"ttl_ms":10000})");
  EXPECT_EQ(call(1, R"({"name":"echo","address":"127.0.0.1:7002"})").payload, R"({"ttl_ms":10000})");
  Reply query = call(2, R"({"name":"echo"})");
  ASSERT_TRUE(query.ok());
  EXPECT_TRUE(query.payload == R"({"address":"127.0.0.1:7001"})" || query.payload == R"({"address":"127.0.0.1:7002"})");
  EXPECT_EQ(list("echo").addresses, (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));

  Reply removed = call(4, R"({"name":"echo","address":"127.0.0.1:7001"})");
  EXPECT_EQ(removed.payload, "{}");
  EXPECT_EQ(list("echo").addresses, std::vector<std::string>{"127.0.0.1:7002"});
}

TEST_F(DiscoverydTest, QueryPicksEveryInstanceAtRandom) {
  call(1, R"({"name":"echo","address":"127.0.0.1:7001"})");
  call(1, R"({"name":"echo","address":"127.0.0.1:7002"})");
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) seen.insert(call(2, R"({"name":"echo"})").payload);
  EXPECT_EQ(seen.size(), 2u);
}

TEST_F(DiscoverydTest, AnswersNotFoundAndEmptyLists) {
  Reply query = call(2, R"({"name":"ghost"})");
  EXPECT_EQ(query.status, Status::not_found);
  auto set = list("ghost");
  EXPECT_TRUE(set.addresses.empty());
}

TEST_F(DiscoverydTest, ReRegisteringNeverDuplicates) {
  for (int i = 0; i < 5; ++i) call(1, R"({"name":"echo","address":"127.0.0.1:7001"})");
  auto set = list("echo");
  EXPECT_EQ(set.addresses.size(), 1u);
  EXPECT_EQ(set.index, 1u);
}

TEST_F(DiscoverydTest, RejectsBadArgumentsWithStatus3AndChangesNothing) {
  for (auto [procedure, payload] : std::vector<std::pair<int, std::string>>{
           {1, "not json"}, {1, "[]"}, {1, R"({"address":"a:1"})"}, {1, R"({"name":"","address":"a:1"})"},
           {1, R"({"name":"e"})"}, {1, R"({"name":"e","address":"nohost"})"},
           {1, R"({"name":"e","address":"a:0"})"}, {1, R"({"name":"e","address":"a:99999"})"},
           {1, R"({"name":"e","address":7})"}, {1, R"({"name":"e","address":"a:1","ttl_ms":0})"},
           {1, R"({"name":"e","address":"a:1","ttl_ms":604800001})"},
           {1, R"({"name":"e","address":"a:1","ttl_ms":"5"})"}, {2, "{}"}, {2, R"({"name":""})"},
           {3, R"({"name":1})"}, {3, R"({"name":"e","index":-1})"},
           {3, R"({"name":"e","index":1,"wait_ms":"x"})"}, {4, R"({"name":"e"})"},
           {1, R"({"name":")" + std::string(2000, 'n') + R"(","address":"a:1"})"}}) {
    Reply reply = call(procedure, payload);
    EXPECT_EQ(reply.status, Status::invalid_argument) << procedure << " " << payload;
    EXPECT_FALSE(reply.payload.empty());
  }
  EXPECT_TRUE(list("e").addresses.empty());
}

// CONTRACT §11: REGISTER's zone, weight and meta come back in LIST's
// "instances", one per address in address order, defaults written out.
TEST_F(DiscoverydTest, ListShowsEachInstancesZoneWeightAndMeta) {
  EXPECT_TRUE(call(1, R"({"name":"echo","address":"b:1","zone":"us-east-1a","weight":30,"meta":{"v":"2"}})").ok());
  EXPECT_TRUE(call(1, R"({"name":"echo","address":"a:1"})").ok());
  Reply reply = call(3, R"({"name":"echo"})");
  EXPECT_EQ(reply.payload, R"({"addresses":["a:1","b:1"],"index":2,"instances":[)"
                           R"({"address":"a:1","zone":"","weight":100,"meta":{}},)"
                           R"({"address":"b:1","zone":"us-east-1a","weight":30,"meta":{"v":"2"}}]})");
  Reply many = call(3, R"({"names":["echo"]})");
  auto sets = discovery::parse_named_sets(many.payload);
  ASSERT_TRUE(sets) << many.payload;
  ASSERT_EQ(sets->sets.size(), 1u);
  EXPECT_EQ(sets->sets[0].second.placement_of("b:1"), (discovery::Placement{"us-east-1a", 30, {{"v", "2"}}}));
}

TEST_F(DiscoverydTest, ARefreshWithANewPlacementWakesLongPolls) {
  call(1, R"({"name":"echo","address":"a:1","zone":"z1"})");
  auto index = list("echo").index;
  auto poll = [&](int wait_ms) {
    return std::async(std::launch::async, [this, index, wait_ms] {
      rpc::BlockingClient watcher(discoveryd_.address(), 15s);
      return watcher.call(3, R"({"name":"echo","index":)" + std::to_string(index) + R"(,"wait_ms":)" +
                                 std::to_string(wait_ms) + "}");
    });
  };
  auto unchanged = poll(600);
  std::this_thread::sleep_for(100ms);
  call(1, R"({"name":"echo","address":"a:1","zone":"z1"})");  // the same placement: a refresh only
  EXPECT_EQ(discovery::parse_address_set(unchanged.get().payload)->index, index);

  auto waiting = poll(10000);
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(waiting.wait_for(0ms), std::future_status::timeout);
  auto changed_at = Clock::now();
  call(1, R"({"name":"echo","address":"a:1","zone":"z2","weight":7})");
  auto set = discovery::parse_address_set(waiting.get().payload);
  EXPECT_LT(Clock::now() - changed_at, 1s);
  ASSERT_TRUE(set);
  EXPECT_GT(set->index, index);
  EXPECT_EQ(set->placement_of("a:1"), (discovery::Placement{"z2", 7, {}}));
}

TEST_F(DiscoverydTest, RejectsBadPlacementsWithStatus3AndChangesNothing) {
  call(1, R"({"name":"echo","address":"a:1","zone":"z","weight":5})");
  const auto before = list("echo");
  for (const std::string& fields : {std::string(R"("zone":7)"), R"("zone":")" + std::string(65, 'z') + R"(")",
                                    std::string(R"("zone":"a b")"), std::string(R"("weight":0)"),
                                    std::string(R"("weight":1001)"), std::string(R"("weight":"5")"),
                                    std::string(R"("meta":[])"), std::string(R"("meta":{"k":5})"),
                                    R"("meta":{"k":")" + std::string(4096, 'v') + R"("})"}) {
    for (const char* address : {"a:1", "b:1"}) {  // a refresh, and a new instance
      Reply reply = call(1, R"({"name":"echo","address":")" + std::string(address) + R"(",)" + fields + "}");
      EXPECT_EQ(reply.status, Status::invalid_argument) << fields;
      EXPECT_NE(reply.payload.find("field \""), std::string::npos) << reply.payload;
    }
  }
  EXPECT_EQ(list("echo"), before);
}

// A refresh that brings a larger placement is held to --max-list-bytes like
// a new instance: meta could otherwise grow a LIST past any client's frame.
TEST(DiscoverydListBound, ARefreshMayNotGrowTheListPastIt) {
  discovery::DiscoveryLimits limits;
  limits.max_list_bytes = 400;
  TestDiscoveryd discoveryd(0, limits);
  rpc::BlockingClient client(discoveryd.address(), 15s);
  ASSERT_TRUE(client.call(1, R"({"name":"echo","address":"a:1"})").ok());
  Reply grown = client.call(1, R"({"name":"echo","address":"a:1","meta":{"k":")" + std::string(500, 'v') + R"("}})");
  EXPECT_EQ(grown.status, Status::resource_exhausted) << grown.payload;
  EXPECT_NE(grown.payload.find("LIST answer"), std::string::npos) << grown.payload;
  auto set = discovery::parse_address_set(client.call(3, R"({"name":"echo"})").payload);
  ASSERT_TRUE(set);
  EXPECT_TRUE(set->placements.empty());
  EXPECT_TRUE(client.call(1, R"({"name":"echo","address":"a:1"})").ok()) << "the same placement: a refresh";
}

TEST_F(DiscoverydTest, IgnoresUnknownFields) {
  Reply reply = call(1, R"({"name":"echo","address":"a:1","color":"blue","ttl_ms":5000})");
  EXPECT_EQ(reply.payload, R"({"ttl_ms":5000})");
}

TEST_F(DiscoverydTest, ExpiredInstancesDisappear) {
  call(1, R"({"name":"echo","address":"a:1","ttl_ms":200})");
  call(1, R"({"name":"echo","address":"b:1","ttl_ms":60000})");
  std::this_thread::sleep_for(400ms);
  EXPECT_EQ(list("echo").addresses, std::vector<std::string>{"b:1"});
  for (int i = 0; i < 20; ++i) EXPECT_EQ(call(2, R"({"name":"echo"})").payload, R"({"address":"b:1"})");
}

TEST_F(DiscoverydTest, LongPollWakesWithinMillisecondsOfAChange) {
  call(1, R"({"name":"echo","address":"a:1"})");
  auto index = list("echo").index;
  auto waiting = std::async(std::launch::async, [&] {
    rpc::BlockingClient watcher(discoveryd_.address(), 15s);
    return watcher.call(3, R"({"name":"echo","index":)" + std::to_string(index) + R"(,"wait_ms":10000})");
  });
  std::this_thread::sleep_for(200ms);
  ASSERT_EQ(waiting.wait_for(0ms), std::future_status::timeout);  // still waiting
  auto changed_at = Clock::now();
  call(1, R"({"name":"echo","address":"b:1"})");
  Reply reply = waiting.get();
  EXPECT_LT(Clock::now() - changed_at, 1s);
  auto set = discovery::parse_address_set(reply.payload);
  ASSERT_TRUE(set);
  EXPECT_GT(set->index, index);
  EXPECT_EQ(set->addresses.size(), 2u);
}

TEST_F(DiscoverydTest, LongPollIgnoresOtherNames) {
  call(1, R"({"name":"echo","address":"a:1"})");
  auto index = list("echo").index;
  auto waiting = std::async(std::launch::async, [&] {
    rpc::BlockingClient watcher(discoveryd_.address(), 15s);
    return watcher.call(3, R"({"name":"echo","index":)" + std::to_string(index) + R"(,"wait_ms":600})");
  });
  std::this_thread::sleep_for(100ms);
  call(1, R"({"name":"kv","address":"k:1"})");
  EXPECT_EQ(waiting.wait_for(300ms), std::future_status::timeout);
  Reply reply = waiting.get();  // after wait_ms, unchanged
  EXPECT_EQ(discovery::parse_address_set(reply.payload)->index, index);
}

TEST_F(DiscoverydTest, LongPollWakesOnLeaseExpiry) {
  call(1, R"({"name":"echo","address":"a:1","ttl_ms":300})");
  auto index = list("echo").index;
  auto start = Clock::now();
  Reply reply = call(3, R"({"name":"echo","index":)" + std::to_string(index) + R"(,"wait_ms":5000})");
  auto waited = Clock::now() - start;
  EXPECT_GE(waited, 200ms);
  EXPECT_LT(waited, 1300ms);  // within ttl plus one second
  EXPECT_TRUE(discovery::parse_address_set(reply.payload)->addresses.empty());
}

TEST_F(DiscoverydTest, LongPollWithAnOldIndexAnswersAtOnce) {
  call(1, R"({"name":"echo","address":"a:1"})");
  auto start = Clock::now();
  Reply reply = call(3, R"({"name":"echo","index":0,"wait_ms":5000})");
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_EQ(discovery::parse_address_set(reply.payload)->addresses.size(), 1u);
}

// Issue 21: a draining discoveryd ends its long polls at once, with 14 (not
// an OK answer that the watcher would poll again at once on the same
// connection), and closes their connections so that watchers reconnect.
TEST_F(DiscoverydTest, DrainingAnswersWaitingLongPollsAtOnceWith14) {
  auto index = list("echo").index;
  auto waiting = std::async(std::launch::async, [&] {
    rpc::BlockingClient watcher(discoveryd_.address(), 15s);
    return watcher.call(3, R"({"name":"echo","index":)" + std::to_string(index) + R"(,"wait_ms":60000})");
  });
  ASSERT_TRUE(eventually([&] { return discoveryd_.service().waiting_long_polls() == 1; }, 5s));
  auto stopped_at = Clock::now();
  discoveryd_.service().stop();
  ASSERT_EQ(waiting.wait_for(2s), std::future_status::ready);
  EXPECT_LT(Clock::now() - stopped_at, 1s);
  EXPECT_EQ(waiting.get().status, Status::unavailable);
  EXPECT_EQ(discoveryd_.service().waiting_long_polls(), 0u);
  EXPECT_EQ(discoveryd_.service().stats().answers[2][discovery::DiscoveryStats::draining], 1u);
}

TEST_F(DiscoverydTest, DrainingAnswersNewListsAtOnceAndClosesTheirConnection) {
  discoveryd_.service().stop();
  RawSocket watcher(discoveryd_.port());
  auto start = Clock::now();
  watcher.send(R"(3:{"name":"echo","index":0,"wait_ms":60000})" "\n");
  auto answer = watcher.read_line();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->substr(0, 3), "14:") << *answer;
  EXPECT_LT(Clock::now() - start, 1s);
  EXPECT_TRUE(watcher.wait_closed());
}

// The registrants of a draining discoveryd move to its successor and stop
// refreshing here: their leases ending would only tell watchers (and QUERY)
// that live instances are gone.
TEST_F(DiscoverydTest, LeasesDoNotEndWhileDraining) {
  call(1, R"({"name":"echo","address":"a:1","ttl_ms":100})");
  discoveryd_.service().stop();
  std::this_thread::sleep_for(300ms);  // three lease lengths
  EXPECT_EQ(call(2, R"({"name":"echo"})").payload, R"({"address":"a:1"})");
  EXPECT_EQ(discoveryd_.service().stats().instances, 1u);
}

}  // namespace
}  // namespace routing::test
