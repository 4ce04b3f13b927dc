// The discovery client side against an in-process discoveryd: the rpc://
// backend, watches, registrations, and the static:// backend.
#include "discovery/discovery.h"
#include "discovery/registration.h"
#include "rpc/blocking_client.h"
#include "support/ports.h"
#include "support/test_discoveryd.h"

#include "support/eventually.h"
#include "support/watch_recorder.h"

#include <gtest/gtest.h>

#include <mutex>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;
using discovery::AddressSet;


discovery::DiscoveryOptions fast_options() {
  discovery::DiscoveryOptions options;
  options.call_timeout = 1s;
  options.retry_initial = 20ms;
  options.retry_max = 200ms;
  options.long_poll = 2s;
  return options;
}


class RpcDiscoveryTest : public ::testing::Test {
 protected:
  std::unique_ptr<TestDiscoveryd> discoveryd_ = std::make_unique<TestDiscoveryd>();
  app::ControlLoop loop_;
  std::unique_ptr<discovery::Discovery> discovery_ =
      discovery::make_discovery(discoveryd_->url(), loop_.executor(), fast_options());
  template <typename T>
  T sync(boost::asio::awaitable<T> work) { return run_sync(loop_.executor(), std::move(work)); }
};

TEST_F(RpcDiscoveryTest, AnnouncesQueriesListsAndWithdraws) {
  auto announced = sync(discovery_->announce("echo", "127.0.0.1:7001", 5s, {}));
  ASSERT_TRUE(announced.ok()) << announced.error;
  EXPECT_EQ(announced.value, 5s);
  auto query = sync(discovery_->query("echo"));
  EXPECT_EQ(query.value, "127.0.0.1:7001");
  auto list = sync(discovery_->list("echo"));
  EXPECT_EQ(list.value.addresses, std::vector<std::string>{"127.0.0.1:7001"});
  EXPECT_TRUE(sync(discovery_->withdraw("echo", "127.0.0.1:7001")).ok());
  EXPECT_EQ(sync(discovery_->query("echo")).status, Status::not_found);
  EXPECT_EQ(sync(discovery_->announce("echo", "bad address", 5s, {})).status, Status::invalid_argument);
}

TEST_F(RpcDiscoveryTest, AnswersUnavailableWhileDiscoverydIsDownAndRecovers) {
  auto port = discoveryd_->port();
  discoveryd_.reset();
  auto down = sync(discovery_->list("echo"));
  EXPECT_EQ(down.status, Status::unavailable);
  EXPECT_NE(down.error.find("unreachable"), std::string::npos) << down.error;
  discoveryd_ = std::make_unique<TestDiscoveryd>(port);
  EXPECT_TRUE(sync(discovery_->list("echo")).ok());
}

TEST_F(RpcDiscoveryTest, WatchDeliversTheFullSetOnEveryChange) {
  WatchRecorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.count() == 1; }));
  EXPECT_TRUE(recorder.last()->empty());

  sync(discovery_->announce("echo", "a:1", 10s, {}));
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"a:1"}; }));
  sync(discovery_->announce("echo", "b:1", 10s, {}));
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"a:1", "b:1"}; }));
  sync(discovery_->announce("kv", "k:1", 10s, {}));  // another name: nothing delivered
  sync(discovery_->withdraw("echo", "a:1"));
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"b:1"}; }));
  EXPECT_EQ(recorder.count(), 4u);
  watch->stop();
}

TEST_F(RpcDiscoveryTest, WatchKeepsTheLastSetWhileDownAndResyncsAfterARestart) {
  sync(discovery_->announce("echo", "a:1", 60s, {}));
  WatchRecorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"a:1"}; }));

  auto port = discoveryd_->port();
  discoveryd_.reset();  // the registry is gone with it
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(recorder.count(), 1u);  // no empty set delivered for an outage

  discoveryd_ = std::make_unique<TestDiscoveryd>(port);
  rpc::BlockingClient client(discoveryd_->address());
  client.call(1, R"({"name":"echo","address":"c:1"})");
  // The new server's index starts again from zero; the watch must not wait for
  // it to pass the old one.
  EXPECT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"c:1"}; }));
}

TEST_F(RpcDiscoveryTest, StoppedWatchDeliversNothingMore) {
  WatchRecorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.count() == 1; }));
  watch.reset();
  sync(discovery_->announce("echo", "a:1", 10s, {}));
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(recorder.count(), 1u);
}

TEST_F(RpcDiscoveryTest, RegistrationKeepsTheLeaseAliveAndWithdrawsOnStop) {
  discovery::Registration registration(*discovery_, "echo", "127.0.0.1:7001", 300ms, fast_options());
  registration.start();
  ASSERT_TRUE(eventually([&] { return registration.registered(); }));
  for (int i = 0; i < 4; ++i) {  // four lease lengths: only refreshes keep it there
    std::this_thread::sleep_for(300ms);
    EXPECT_EQ(sync(discovery_->list("echo")).value.addresses.size(), 1u);
  }
  sync(registration.stop());
  EXPECT_TRUE(sync(discovery_->list("echo")).value.addresses.empty());
  EXPECT_FALSE(registration.registered());
}

TEST_F(RpcDiscoveryTest, RegistrationComesBackAfterDiscoverydRestarts) {
  discovery::Registration registration(*discovery_, "echo", "127.0.0.1:7001", 300ms, fast_options());
  registration.start();
  ASSERT_TRUE(eventually([&] { return registration.registered(); }));
  auto port = discoveryd_->port();
  discoveryd_.reset();
  ASSERT_TRUE(eventually([&] { return !registration.registered(); }));
  discoveryd_ = std::make_unique<TestDiscoveryd>(port);
  rpc::BlockingClient client(discoveryd_->address());
  EXPECT_TRUE(eventually([&] {
    return client.call(2, R"({"name":"echo"})").payload == R"({"address":"127.0.0.1:7001"})";
  }));
  sync(registration.stop());  // before discovery_ goes: a refresh in flight uses it (TSan found it)
}

// CONTRACT §11 through the rpc:// client: announce() carries the placement,
// list() and watches read it, and a watch delivers a placement-only change.
TEST_F(RpcDiscoveryTest, AnnouncedPlacementsReachListAndWatches) {
  const discovery::Placement first{"us-east-1a", 30, {{"version", "1.2"}}};
  const discovery::Placement second{"us-east-1b", 30, {{"version", "1.2"}}};
  WatchRecorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.count() == 1; }));

  ASSERT_TRUE(sync(discovery_->announce("echo", "a:1", 10s, first)).ok());
  ASSERT_TRUE(sync(discovery_->announce("echo", "b:1", 10s, {})).ok());
  auto listed = sync(discovery_->list("echo"));
  EXPECT_EQ(listed.value.placements, (std::map<std::string, discovery::Placement>{{"a:1", first}}));
  ASSERT_TRUE(eventually([&] { return recorder.last_set() && recorder.last_set()->addresses.size() == 2; }));
  EXPECT_EQ(recorder.last_set()->placement_of("a:1"), first);

  const auto delivered = recorder.count();
  ASSERT_TRUE(sync(discovery_->announce("echo", "a:1", 10s, second)).ok());  // the same addresses
  ASSERT_TRUE(eventually([&] { return recorder.last_set()->placement_of("a:1") == second; }));
  EXPECT_EQ(recorder.count(), delivered + 1);
  ASSERT_TRUE(sync(discovery_->announce("echo", "a:1", 10s, second)).ok());  // a refresh: nothing to deliver
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(recorder.count(), delivered + 1);
}

// The fall-back watch (one single-name long poll per watch, for a discoveryd
// that refuses the multi-name LIST) sees placement-only changes too.
TEST(RpcDiscoveryFallback, PerNameWatchesSeePlacementChanges) {
  discovery::DiscoveryLimits limits;
  limits.max_watch_names = 0;  // every multi-name LIST gets 3
  TestDiscoveryd discoveryd(0, limits);
  app::ControlLoop loop;
  auto discovery = discovery::make_discovery(discoveryd.url(), loop.executor(), fast_options());
  WatchRecorder recorder;
  auto watch = discovery->watch("echo", recorder.callback());
  run_sync(loop.executor(), discovery->announce("echo", "a:1", 10s, {"z1", 100, {}}));
  ASSERT_TRUE(eventually([&] { return recorder.last_set() && recorder.last_set()->placement_of("a:1").zone == "z1"; }));
  run_sync(loop.executor(), discovery->announce("echo", "a:1", 10s, {"z2", 100, {}}));
  EXPECT_TRUE(eventually([&] { return recorder.last_set()->placement_of("a:1").zone == "z2"; }));
  watch->stop();
}

TEST_F(RpcDiscoveryTest, RefusesABadPlacementWithItsReason) {
  auto refused = sync(discovery_->announce("echo", "a:1", 10s, {"", 0, {}}));
  EXPECT_EQ(refused.status, Status::invalid_argument);
  EXPECT_EQ(refused.error, "placement: weight must be in 1..1000 (got 0)");
  refused = sync(discovery_->announce("echo", "a:1", 10s, {std::string(65, 'z'), 100, {}}));
  EXPECT_EQ(refused.status, Status::invalid_argument);
  EXPECT_TRUE(sync(discovery_->list("echo")).value.addresses.empty());
}

TEST_F(RpcDiscoveryTest, RegistrationCarriesItsPlacement) {
  const discovery::Placement placement{"eu-west-1c", 250, {{"build", "42"}}};
  discovery::Registration registration(*discovery_, "echo", "127.0.0.1:7001", 10s, fast_options(), placement);
  registration.start();
  ASSERT_TRUE(eventually([&] { return registration.registered(); }));
  EXPECT_EQ(sync(discovery_->list("echo")).value.placement_of("127.0.0.1:7001"), placement);
  sync(registration.stop());
}

TEST(StaticDiscovery, ServesTheUrlsZonesAndWeights) {
  app::ControlLoop loop;
  auto fixed = discovery::make_discovery("static://echo=127.0.0.1:7001@a*50,[::1]:7002@b", loop.executor());
  auto list = run_sync(loop.executor(), fixed->list("echo"));
  EXPECT_EQ(list.value.placement_of("127.0.0.1:7001"), (discovery::Placement{"a", 50, {}}));
  EXPECT_EQ(list.value.placement_of("[::1]:7002"), (discovery::Placement{"b", 100, {}}));
  WatchRecorder recorder;
  auto watch = fixed->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.count() == 1; }));
  EXPECT_EQ(recorder.last_set()->placements, list.value.placements);
  EXPECT_THROW(discovery::make_discovery("static://echo=127.0.0.1:7001*0", loop.executor()), std::invalid_argument);
}

TEST(StaticDiscovery, ServesTheFixedMap) {
  app::ControlLoop loop;
  auto fixed = discovery::make_discovery("static://echo=127.0.0.1:7001,127.0.0.1:7002", loop.executor());
  auto list = run_sync(loop.executor(), fixed->list("echo"));
  EXPECT_EQ(list.value.addresses, (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
  EXPECT_EQ(run_sync(loop.executor(), fixed->query("kv")).status, Status::not_found);
  EXPECT_TRUE(run_sync(loop.executor(), fixed->announce("echo", "127.0.0.1:7001", 1s, {})).ok());
  EXPECT_EQ(run_sync(loop.executor(), fixed->announce("echo", "127.0.0.1:9", 1s, {})).status,
            Status::invalid_argument);
  WatchRecorder recorder;
  auto watch = fixed->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.count() == 1; }));
  EXPECT_EQ(recorder.last()->size(), 2u);
}

TEST(MakeDiscovery, RejectsBadUrls) {
  app::ControlLoop loop;
  EXPECT_THROW(discovery::make_discovery("zk://a:1", loop.executor()), std::invalid_argument);
  EXPECT_THROW(discovery::make_discovery("rpc://nowhere", loop.executor()), std::invalid_argument);
}

}  // namespace
}  // namespace routing::test
