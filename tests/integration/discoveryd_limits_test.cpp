// discoveryd's bounds (discovery/limits.h, issue 20 finding 5): each refusal
// has its status and changes nothing; a LIST always fits the frame limit;
// long polls are capped and end when their client hangs up.
#include "discovery/protocol_json.h"
#include "rpc/blocking_client.h"
#include "rpc/codec.h"
#include "support/eventually.h"
#include "support/raw_socket.h"
#include "support/test_discoveryd.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

std::string register_args(const std::string& name, const std::string& address) {
  return boost::json::serialize(boost::json::object{{"name", name}, {"address", address}});
}

std::string long_poll(const std::string& name) {
  return R"(3:{"name":")" + name + R"(","index":1000000,"wait_ms":300000})" "\n";
}

class DiscoverydLimits : public ::testing::Test {
 protected:
  std::unique_ptr<TestDiscoveryd> start(discovery::DiscoveryLimits limits) {
    auto discoveryd = std::make_unique<TestDiscoveryd>(0, limits);
    client_ = std::make_unique<rpc::BlockingClient>(discoveryd->address(), 10s);
    return discoveryd;
  }
  Reply call(std::uint32_t procedure, const std::string& payload) { return client_->call(procedure, payload); }
  std::vector<std::string> listed(const std::string& name) {
    auto set = discovery::parse_address_set(call(3, R"({"name":")" + name + R"("})").payload);
    return set ? set->addresses : std::vector<std::string>{"<bad answer>"};
  }
  std::unique_ptr<rpc::BlockingClient> client_;
};

TEST_F(DiscoverydLimits, AnOversizeAddressGetsStatus3AndChangesNothing) {
  auto discoveryd = start({});  // default: 512 bytes
  std::string host(600'000, 'h');  // the finding: 600 KB addresses
  Reply reply = call(1, register_args("echo", host + ":7001"));
  EXPECT_EQ(reply.status, Status::invalid_argument) << reply.payload;
  EXPECT_NE(reply.payload.find("too long"), std::string::npos) << reply.payload;
  EXPECT_TRUE(listed("echo").empty());
  std::string longest(512 - 5, 'h');  // exactly at the limit is fine
  EXPECT_TRUE(call(1, register_args("echo", longest + ":7001")).ok());
  EXPECT_EQ(discoveryd->service().refusals(), 1u);
}

TEST_F(DiscoverydLimits, InstancesPerNameAreCappedWithStatus8) {
  auto discoveryd = start({.max_instances_per_name = 3});
  for (int i = 1; i <= 3; ++i) ASSERT_TRUE(call(1, register_args("echo", "h:" + std::to_string(i))).ok());
  Reply refused = call(1, register_args("echo", "h:4"));
  EXPECT_EQ(refused.status, Status::resource_exhausted) << refused.payload;
  EXPECT_NE(refused.payload.find("too many instances of 'echo'"), std::string::npos) << refused.payload;
  EXPECT_EQ(listed("echo").size(), 3u);
  EXPECT_TRUE(call(1, register_args("echo", "h:1")).ok()) << "a refresh is never refused";
  EXPECT_TRUE(call(1, register_args("other", "h:4")).ok()) << "other names are not affected";
  ASSERT_TRUE(call(4, register_args("echo", "h:2")).ok());
  EXPECT_TRUE(call(1, register_args("echo", "h:4")).ok()) << "room again after a deregistration";
}

TEST_F(DiscoverydLimits, NamesAndAllInstancesAreCapped) {
  auto discoveryd = start({.max_names = 2, .max_instances = 3});
  ASSERT_TRUE(call(1, register_args("a", "h:1")).ok());
  ASSERT_TRUE(call(1, register_args("b", "h:1")).ok());
  EXPECT_EQ(call(1, register_args("c", "h:1")).status, Status::resource_exhausted);
  ASSERT_TRUE(call(1, register_args("a", "h:2")).ok());
  Reply refused = call(1, register_args("b", "h:2"));
  EXPECT_EQ(refused.status, Status::resource_exhausted);
  EXPECT_NE(refused.payload.find("too many instances (at most 3)"), std::string::npos) << refused.payload;
  EXPECT_TRUE(listed("c").empty());
}

TEST_F(DiscoverydLimits, RegistrationsPerConnectionAreCapped) {
  auto discoveryd = start({.max_registrations_per_connection = 2});
  ASSERT_TRUE(call(1, register_args("echo", "h:1")).ok());
  ASSERT_TRUE(call(1, register_args("kv", "h:1")).ok());
  Reply refused = call(1, register_args("echo", "h:2"));
  EXPECT_EQ(refused.status, Status::resource_exhausted);
  EXPECT_NE(refused.payload.find("on this connection"), std::string::npos) << refused.payload;
  EXPECT_TRUE(call(1, register_args("echo", "h:1")).ok()) << "refreshing its own is fine";
  rpc::BlockingClient other(discoveryd->address(), 10s);
  EXPECT_TRUE(other.call(1, register_args("echo", "h:2")).ok()) << "another connection has its own count";
}

// The worst case for escaping: every byte of the host a backslash, which the
// JSON string and then the frame both double. The finding: 600 KB addresses
// pushed a LIST past 1 MiB and no client could read it any more.
TEST_F(DiscoverydLimits, AListAnswerNeverPassesTheListLimit) {
  constexpr std::size_t list_limit = 64 * 1024;
  auto discoveryd = start({.max_instances_per_name = 100'000, .max_list_bytes = list_limit});
  std::string host(500, '\\');
  int registered = 0;
  for (int port = 1; port < 1000; ++port) {
    Reply reply = call(1, register_args("echo", host + ":" + std::to_string(port)));
    if (!reply.ok()) {
      EXPECT_EQ(reply.status, Status::resource_exhausted) << reply.payload;
      EXPECT_NE(reply.payload.find("LIST answer"), std::string::npos) << reply.payload;
      break;
    }
    ++registered;
  }
  ASSERT_GT(registered, 10);
  Reply list = call(3, R"({"name":"echo"})");
  ASSERT_TRUE(list.ok());
  std::size_t line = rpc::encode_frame(0, list.payload).size() - 1;  // the limit counts the line without '\n'
  EXPECT_LE(line, list_limit);
  EXPECT_GT(line, list_limit - 2 * 2100) << "the limit should be met closely, not by a wide margin";
  EXPECT_EQ(discovery::parse_address_set(list.payload)->addresses.size(), static_cast<std::size_t>(registered));
}

TEST_F(DiscoverydLimits, LongPollsOverTheTotalCapGetStatus8) {
  auto discoveryd = start({.max_long_polls = 3});
  std::vector<RawSocket> watchers;
  for (int i = 0; i < 3; ++i) {
    watchers.emplace_back(discoveryd->port());
    watchers.back().send(long_poll("echo"));
  }
  ASSERT_TRUE(eventually([&] { return discoveryd->service().waiting_long_polls() == 3; }));
  RawSocket late(discoveryd->port());
  late.send(long_poll("echo"));
  auto answer = late.read_line();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->substr(0, 2), "8:") << *answer;
  EXPECT_NE(answer->find("too many long polls"), std::string::npos) << *answer;
  late.send("3:{\"name\":\"echo\"}\n");  // a plain LIST still works
  EXPECT_EQ(late.read_line().value_or("").substr(0, 2), "0:");
}

// The finding: long polls whose clients hung up held their descriptors for
// up to wait_ms (5 min). Now the connection sees the close and ends the poll.
TEST_F(DiscoverydLimits, ALongPollWhoseClientHangsUpEndsAtOnce) {
  auto discoveryd = start({});
  {
    std::vector<RawSocket> watchers;
    for (int i = 0; i < 50; ++i) {
      watchers.emplace_back(discoveryd->port());
      watchers.back().send(long_poll("echo"));
    }
    ASSERT_TRUE(eventually([&] { return discoveryd->service().waiting_long_polls() == 50; }));
  }  // every watcher closes
  EXPECT_TRUE(eventually([&] { return discoveryd->service().waiting_long_polls() == 0; }, 3s))
      << discoveryd->service().waiting_long_polls() << " long polls still wait";
}

TEST_F(DiscoverydLimits, AHalfClosingLongPollerIsAnsweredAtOnce) {
  auto discoveryd = start({});
  RawSocket watcher(discoveryd->port(), 3s);
  watcher.send(long_poll("echo"));
  ASSERT_TRUE(eventually([&] { return discoveryd->service().waiting_long_polls() == 1; }));
  watcher.shutdown_write();  // as `nc -N` does
  auto answer = watcher.read_line();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->substr(0, 2), "0:") << *answer;
  EXPECT_TRUE(watcher.wait_closed());
}

// The connection reads on while a long poll waits (to see a hang-up): what
// the client pipelines meanwhile is still served, in order, after the poll.
TEST_F(DiscoverydLimits, RequestsPipelinedBehindALongPollAreServedAfterIt) {
  auto discoveryd = start({});
  RawSocket watcher(discoveryd->port(), 5s);
  watcher.send(R"(3:{"name":"echo","index":0,"wait_ms":300000})" "\n0:\n");
  ASSERT_TRUE(eventually([&] { return discoveryd->service().waiting_long_polls() == 1; }));
  watcher.send(R"(2:{"name":"echo"})" "\n");
  ASSERT_TRUE(call(1, register_args("echo", "h:1")).ok());
  auto answer = watcher.read_line();
  ASSERT_TRUE(answer);
  EXPECT_NE(answer->find("h:1"), std::string::npos) << *answer;
  EXPECT_EQ(watcher.read_line().value_or(""), "0:pong");
  EXPECT_EQ(watcher.read_line().value_or(""), R"(0:{"address":"h:1"})");
}

}  // namespace
}  // namespace routing::test
