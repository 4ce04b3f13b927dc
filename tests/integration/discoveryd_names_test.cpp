// discoveryd's multi-name LIST ("names", an extension beyond CONTRACT §2):
// every listed set without an index, only the changed ones with it, a long
// poll woken by any listed name, paging within --max-list-bytes, and the
// bounds on "names".
#include "discovery/protocol_json.h"
#include "rpc/blocking_client.h"
#include "rpc/codec.h"
#include "support/eventually.h"
#include "support/raw_socket.h"
#include "support/test_discoveryd.h"

#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <future>
#include <map>

namespace routing::test {
namespace {

using namespace std::chrono_literals;
namespace json = boost::json;
using Sets = std::map<std::string, std::vector<std::string>>;

std::string names_args(const std::vector<std::string>& names, std::optional<std::uint64_t> index = std::nullopt,
                       std::int64_t wait_ms = 0) {
  json::array list;
  for (const auto& name : names) list.emplace_back(name);
  json::object args{{"names", std::move(list)}};
  if (index) {
    args["index"] = *index;
    args["wait_ms"] = wait_ms;
  }
  return json::serialize(args);
}

std::string register_args(const std::string& name, const std::string& address) {
  return json::serialize(json::object{{"name", name}, {"address", address}});
}

Sets sets_of(const discovery::NamedSets& answer) {
  Sets sets;
  for (const auto& [name, set] : answer.sets) sets[name] = set.addresses;
  return sets;
}

class DiscoverydNames : public ::testing::Test {
 protected:
  void start(discovery::DiscoveryLimits limits = {}) {
    discoveryd_ = std::make_unique<TestDiscoveryd>(0, limits);
    client_ = std::make_unique<rpc::BlockingClient>(discoveryd_->address(), 15s);
  }
  Reply call(std::uint32_t procedure, const std::string& payload) { return client_->call(procedure, payload); }
  void register_instance(const std::string& name, const std::string& address) {
    ASSERT_TRUE(call(1, register_args(name, address)).ok());
  }
  discovery::NamedSets list(const std::string& args) {
    Reply reply = call(3, args);
    EXPECT_TRUE(reply.ok()) << reply.payload;
    auto answer = discovery::parse_named_sets(reply.payload);
    EXPECT_TRUE(answer) << reply.payload;
    return answer.value_or(discovery::NamedSets{});
  }
  std::future<Reply> long_poll_in_background(std::string args) {
    return std::async(std::launch::async, [address = discoveryd_->address(), args = std::move(args)] {
      rpc::BlockingClient watcher(address, 30s);
      return watcher.call(3, args);
    });
  }
  std::unique_ptr<TestDiscoveryd> discoveryd_;
  std::unique_ptr<rpc::BlockingClient> client_;
};

TEST_F(DiscoverydNames, WithoutAnIndexAnswersEveryListedName) {
  start();
  register_instance("echo", "a:1");
  register_instance("echo", "b:1");
  register_instance("kv", "k:1");
  register_instance("unlisted", "u:1");
  auto answer = list(names_args({"echo", "kv", "ghost", "echo"}));  // duplicates are fine
  EXPECT_EQ(sets_of(answer), (Sets{{"echo", {"a:1", "b:1"}}, {"kv", {"k:1"}}, {"ghost", {}}}));
  EXPECT_EQ(answer.index, 4u);  // the registry's counter: every change so far is in
  // Each set reads as the single-name answer does.
  for (const auto& [name, set] : answer.sets) {
    if (name == "ghost") continue;
    auto alone = discovery::parse_address_set(call(3, R"({"name":")" + name + R"("})").payload);
    EXPECT_EQ(set, alone) << name;
  }
}

TEST_F(DiscoverydNames, WithAnIndexAnswersOnlyTheNamesChangedSince) {
  start();
  register_instance("echo", "a:1");
  register_instance("kv", "k:1");
  auto first = list(names_args({"echo", "kv", "ghost"}));
  register_instance("kv", "k:2");
  register_instance("other", "o:1");
  auto second = list(names_args({"echo", "kv", "ghost"}, first.index));
  EXPECT_EQ(sets_of(second), (Sets{{"kv", {"k:1", "k:2"}}}));
  EXPECT_GT(second.index, first.index);
  ASSERT_TRUE(call(4, register_args("echo", "a:1")).ok());  // emptied: reported once, then quiet
  auto third = list(names_args({"echo", "kv", "ghost"}, second.index));
  EXPECT_EQ(sets_of(third), (Sets{{"echo", {}}}));
  register_instance("other", "o:2");
  auto fourth = list(names_args({"echo", "kv", "ghost"}, third.index));
  EXPECT_TRUE(fourth.sets.empty()) << "another name's change makes no listed name look changed";
  EXPECT_GE(fourth.index, third.index);
}

TEST_F(DiscoverydNames, ALongPollWakesOnAnyListedNameAndNotOnOthers) {
  start();
  register_instance("echo", "a:1");
  auto index = list(names_args({"echo", "kv"})).index;
  auto waiting = long_poll_in_background(names_args({"echo", "kv"}, index, 20'000));
  ASSERT_TRUE(eventually([&] { return discoveryd_->service().waiting_long_polls() == 1; }));
  register_instance("other", "o:1");
  EXPECT_EQ(waiting.wait_for(300ms), std::future_status::timeout) << "an unlisted name woke it";
  register_instance("kv", "k:1");
  ASSERT_EQ(waiting.wait_for(10s), std::future_status::ready) << "a listed name did not wake it";
  auto answer = discovery::parse_named_sets(waiting.get().payload);
  ASSERT_TRUE(answer);
  EXPECT_EQ(sets_of(*answer), (Sets{{"kv", {"k:1"}}}));
  EXPECT_EQ(discoveryd_->service().waiting_long_polls(), 0u);
}

TEST_F(DiscoverydNames, ALongPollWithNothingChangedAnswersEmptyAfterWaitMs) {
  start();
  register_instance("echo", "a:1");
  auto index = list(names_args({"echo"})).index;
  auto answer = list(names_args({"echo", "ghost"}, index, 200));
  EXPECT_TRUE(answer.sets.empty());
  EXPECT_EQ(answer.index, index);
}

TEST_F(DiscoverydNames, AHungUpMultiNameLongPollEndsAtOnce) {
  start();
  {
    RawSocket watcher(discoveryd_->port(), 5s);
    watcher.send("3:" + names_args({"echo", "kv"}, 1'000'000, 300'000) + "\n");
    ASSERT_TRUE(eventually([&] { return discoveryd_->service().waiting_long_polls() == 1; }));
  }
  EXPECT_TRUE(eventually([&] { return discoveryd_->service().waiting_long_polls() == 0; }));
}

// 30 names of ~200 bytes each against a 2 KiB answer bound: consecutive polls
// from each answer's index deliver every set, none twice, oldest change first.
TEST_F(DiscoverydNames, SetsPastTheSizeBoundArriveOnTheNextPolls) {
  start({.max_list_bytes = 2048});
  std::vector<std::string> names;
  Sets expected;
  for (int i = 0; i < 30; ++i) {
    std::string name = "name" + std::to_string(i);
    std::string address = std::string(180, 'h') + ":" + std::to_string(1000 + i);
    register_instance(name, address);
    names.push_back(name);
    expected[name] = {address};
  }
  names.push_back("ghost");
  expected["ghost"] = {};
  Sets received;
  std::optional<std::uint64_t> index;
  int polls = 0;
  for (; polls < 100; ++polls) {
    Reply reply = call(3, names_args(names, index));
    ASSERT_TRUE(reply.ok()) << reply.payload;
    EXPECT_LE(rpc::encode_frame(0, reply.payload).size(), 2048u);
    auto answer = discovery::parse_named_sets(reply.payload);
    ASSERT_TRUE(answer);
    if (index && answer->sets.empty()) break;
    for (const auto& [name, set] : answer->sets) {
      EXPECT_FALSE(received.contains(name)) << name << " twice";
      received[name] = set.addresses;
    }
    index = answer->index;
  }
  EXPECT_EQ(received, expected);
  EXPECT_GT(polls, 2) << "the bound should have split the answer";
}

TEST_F(DiscoverydNames, BadNamesGetStatus3AndChangeNothing) {
  start({.max_watch_names = 3});
  register_instance("echo", "a:1");
  for (const std::string& payload : std::vector<std::string>{
           R"({"names":"echo"})", R"({"names":[]})", R"({"names":["echo",7]})", R"({"names":["echo",""]})",
           R"({"names":["a","b","c","d"]})", R"({"names":["echo"],"name":"echo"})",
           R"({"names":["echo"],"index":-1})", R"({"names":["echo"],"index":1,"wait_ms":"x"})",
           std::string(R"({"names":[")") + std::string(2000, 'n') + R"("]})"}) {
    Reply reply = call(3, payload);
    EXPECT_EQ(reply.status, Status::invalid_argument) << payload << " -> " << reply.payload;
    EXPECT_FALSE(reply.payload.empty());
  }
  EXPECT_NE(call(3, R"({"names":["a","b","c","d"]})").payload.find("at most 3"), std::string::npos);
  EXPECT_EQ(sets_of(list(names_args({"echo", "a", "b"}))), (Sets{{"echo", {"a:1"}}, {"a", {}}, {"b", {}}}));
  EXPECT_EQ(discoveryd_->service().waiting_long_polls(), 0u);
}

}  // namespace
}  // namespace routing::test
