// The etcd:// backend against a real etcd (Debian's etcd-server), started on
// free loopback ports with a temporary data dir.
#include "discovery/discovery.h"
#include "discovery/etcd_discovery.h"
#include "support/etcd.h"
#include "support/ports.h"
#include "support/process.h"
#include "support/test_discoveryd.h"

#include "support/eventually.h"
#include "support/watch_recorder.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <mutex>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class EtcdTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(etcd_.ready()) << etcd_.log(); }
  template <typename T>
  T sync(boost::asio::awaitable<T> work) { return run_sync(loop_.executor(), std::move(work)); }

  Etcd etcd_;
  app::ControlLoop loop_;
  std::unique_ptr<discovery::Discovery> discovery_ = discovery::make_discovery(etcd_.url(), loop_.executor());
};

TEST_F(EtcdTest, AnnouncesListsQueriesAndWithdraws) {
  auto announced = sync(discovery_->announce("echo", "127.0.0.1:7001", 5s));
  ASSERT_TRUE(announced.ok()) << announced.error;
  EXPECT_GE(announced.value, 5s);
  ASSERT_TRUE(sync(discovery_->announce("echo", "127.0.0.1:7002", 5s)).ok());
  ASSERT_TRUE(sync(discovery_->announce("echo", "127.0.0.1:7002", 5s)).ok());  // a refresh
  auto list = sync(discovery_->list("echo"));
  ASSERT_TRUE(list.ok()) << list.error;
  EXPECT_EQ(list.value.addresses, (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
  EXPECT_GT(list.value.index, 0u);
  auto query = sync(discovery_->query("echo"));
  EXPECT_TRUE(query.value == "127.0.0.1:7001" || query.value == "127.0.0.1:7002");

  EXPECT_TRUE(sync(discovery_->withdraw("echo", "127.0.0.1:7001")).ok());
  EXPECT_EQ(sync(discovery_->list("echo")).value.addresses, std::vector<std::string>{"127.0.0.1:7002"});
  EXPECT_EQ(sync(discovery_->query("nothing")).status, Status::not_found);
}

TEST_F(EtcdTest, KeysLiveUnderTheDocumentedPrefix) {
  ASSERT_TRUE(sync(discovery_->announce("kv", "127.0.0.1:7101", 5s)).ok());
  auto result = run_program("/usr/bin/etcdctl", {"--endpoints", etcd_.endpoint(), "get", "--prefix",
                                                 std::string(discovery::etcd_key_prefix)});
  EXPECT_NE(result.out.find("/routing/services/kv/127.0.0.1:7101"), std::string::npos) << result.out << result.err;
  ASSERT_TRUE(sync(discovery_->announce("kv/a%b", "127.0.0.1:7102", 5s)).ok());
  result = run_program("/usr/bin/etcdctl", {"--endpoints", etcd_.endpoint(), "get", "--prefix",
                                            std::string(discovery::etcd_key_prefix)});
  EXPECT_NE(result.out.find("/routing/services/kv%2Fa%25b/127.0.0.1:7102"), std::string::npos) << result.out;
}

// A name's list and watch see its own instances only, never those of a name
// it is a prefix of ("echo/sub" once received calls to "echo").
TEST_F(EtcdTest, NamesThatShareAPrefixStayApart) {
  for (auto [name, address] : std::vector<std::pair<std::string, std::string>>{
           {"echo", "127.0.0.1:7001"}, {"echo/sub", "127.0.0.1:7002"}, {"echo2", "127.0.0.1:7003"},
           {"echo%2Fsub", "127.0.0.1:7004"}, {"echo/", "127.0.0.1:7005"}}) {
    ASSERT_TRUE(sync(discovery_->announce(name, address, 5s)).ok()) << name;
  }
  EXPECT_EQ(sync(discovery_->list("echo")).value.addresses, std::vector<std::string>{"127.0.0.1:7001"});
  EXPECT_EQ(sync(discovery_->list("echo/sub")).value.addresses, std::vector<std::string>{"127.0.0.1:7002"});
  EXPECT_EQ(sync(discovery_->list("echo%2Fsub")).value.addresses, std::vector<std::string>{"127.0.0.1:7004"});
  EXPECT_EQ(sync(discovery_->list("echo/")).value.addresses, std::vector<std::string>{"127.0.0.1:7005"});

  WatchRecorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"127.0.0.1:7001"}; }, 5s));
  sync(discovery_->announce("echo/sub", "127.0.0.1:7012", 5s));  // changes under "echo/..." and "echo2"
  sync(discovery_->withdraw("echo2", "127.0.0.1:7003"));
  sync(discovery_->announce("echo", "127.0.0.1:7011", 5s));  // then one of its own, seen after them
  ASSERT_TRUE(eventually(
      [&] { return recorder.last() == std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7011"}; }, 5s));
  for (const auto& set : recorder.all()) {
    for (const auto& address : set) EXPECT_TRUE(address == "127.0.0.1:7001" || address == "127.0.0.1:7011") << address;
  }
}

TEST_F(EtcdTest, WatchWakesOnEveryChange) {
  WatchRecorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.last().has_value(); }, 5s));
  EXPECT_TRUE(recorder.last()->empty());

  sync(discovery_->announce("echo", "a:1", 10s));
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"a:1"}; }, 5s));
  sync(discovery_->announce("echo", "b:1", 10s));
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"a:1", "b:1"}; }, 5s));
  sync(discovery_->withdraw("echo", "a:1"));
  EXPECT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"b:1"}; }, 5s));
}

TEST_F(EtcdTest, LeaseEndsAfterTheRegisteringProcessIsKilled) {
  WatchRecorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  Process echod(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--discovery", etcd_.url(), "--ttl-ms", "1000"});
  auto port = echod.wait_listening();
  ASSERT_TRUE(port) << echod.log();
  std::vector<std::string> expected{"127.0.0.1:" + std::to_string(*port)};
  ASSERT_TRUE(eventually([&] { return recorder.last() == expected; }, 5s)) << echod.log();
  std::this_thread::sleep_for(2500ms);  // longer than the lease: keep-alives hold it
  ASSERT_EQ(recorder.last(), expected);

  echod.signal(SIGKILL);
  auto killed_at = Clock::now();
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{}; }, 10s));
  // etcd rounds leases to whole seconds with a minimum of its own; a couple of
  // seconds plus etcd's expiry check is what to expect.
  EXPECT_LT(Clock::now() - killed_at, 6s);
}

TEST_F(EtcdTest, FailsOverToTheNextEndpoint) {
  auto dead = "127.0.0.1:" + std::to_string(free_port());
  auto cluster = discovery::make_discovery("etcd://" + dead + "," + etcd_.endpoint(), loop_.executor());
  auto announced = sync(cluster->announce("echo", "127.0.0.1:7001", 5s));
  EXPECT_TRUE(announced.ok()) << announced.error;
  EXPECT_EQ(sync(cluster->list("echo")).value.addresses.size(), 1u);
}

TEST(EtcdUnreachable, AnswersUnavailable) {
  app::ControlLoop loop;
  auto nowhere = discovery::make_discovery("etcd://127.0.0.1:" + std::to_string(free_port()), loop.executor());
  auto result = run_sync(loop.executor(), nowhere->list("echo"));
  EXPECT_EQ(result.status, Status::unavailable);
}

}  // namespace
}  // namespace routing::test
