// The rpc:// backend's shared watch (RpcWatchHub): all the names one
// RpcDiscovery watches share one loop and one connection to discoveryd, and
// each watch still gets the full set of its name on start and on every change.
#include "discovery/discovery.h"
#include "rpc/blocking_client.h"
#include "support/eventually.h"
#include "support/test_discoveryd.h"
#include "support/watch_recorder.h"

#include <boost/asio/post.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <gtest/gtest.h>

#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;
using Addresses = std::vector<std::string>;

discovery::DiscoveryOptions options_with_long_poll(std::chrono::milliseconds long_poll) {
  discovery::DiscoveryOptions options;
  options.call_timeout = 1s;
  options.retry_initial = 20ms;
  options.retry_max = 200ms;
  options.long_poll = long_poll;
  return options;
}

std::string register_args(const std::string& name, const std::string& address) {
  return boost::json::serialize(boost::json::object{{"name", name}, {"address", address}});
}

// Watches through the shared loop; registers through a client of its own, so
// that the discovery under test opens no connection but its watch connection.
class SharedWatch : public ::testing::Test {
 protected:
  void start(discovery::DiscoveryLimits limits = {}, std::chrono::milliseconds long_poll = 30s) {
    discoveryd_ = std::make_unique<TestDiscoveryd>(port_, limits);
    port_ = discoveryd_->port();
    discovery_ = discovery::make_discovery(discoveryd_->url(), loop_.executor(), options_with_long_poll(long_poll));
  }
  void register_instance(const std::string& name, const std::string& address) {
    rpc::BlockingClient client(discoveryd_->address(), 5s);
    ASSERT_TRUE(client.call(1, register_args(name, address)).ok());
  }
  // The watch loop's long poll is waiting at discoveryd.
  bool polling() {
    return eventually([&] { return discoveryd_->service().waiting_long_polls() == 1; });
  }

  std::uint16_t port_ = 0;
  std::unique_ptr<TestDiscoveryd> discoveryd_;
  app::ControlLoop loop_;
  std::unique_ptr<discovery::Discovery> discovery_;
};

TEST_F(SharedWatch, FiftyNamesUseOneConnectionAndEveryChangeArrivesPromptly) {
  start();
  std::vector<std::unique_ptr<WatchRecorder>> recorders;
  std::vector<std::unique_ptr<discovery::WatchHandle>> watches;
  for (int i = 0; i < 50; ++i) {
    recorders.push_back(std::make_unique<WatchRecorder>());
    watches.push_back(discovery_->watch("system" + std::to_string(i), recorders.back()->callback()));
  }
  for (auto& recorder : recorders) ASSERT_TRUE(eventually([&] { return recorder->count() == 1; }));
  ASSERT_TRUE(polling());
  // Connections closed just now (the restarted poll's) may still count a moment.
  EXPECT_TRUE(eventually([&] { return discoveryd_->open_connections() == 1; })) << "one watch connection for 50 names";

  for (int i : {37, 0, 49}) {
    std::string address = "h:" + std::to_string(1000 + i);
    register_instance("system" + std::to_string(i), address);
    EXPECT_TRUE(eventually([&] { return recorders[i]->last() == Addresses{address}; }, 1s))
        << "system" << i;
  }
  ASSERT_TRUE(polling());
  EXPECT_TRUE(eventually([&] { return discoveryd_->open_connections() == 1; }));
  EXPECT_EQ(recorders[1]->count(), 1u) << "an unchanged name got a set";
}

// Changes within update_merge_window (100 ms) of an answer come together
// in the next one: 40 registrations over ~250 ms reach the watcher in a few
// sets, not 40 (each a whole set: at 1,000 backends changing 1,000 times a
// second routerd re-read and re-published 400 sets a second).
TEST_F(SharedWatch, ChangesInQuickSuccessionComeTogether) {
  start();
  WatchRecorder busy;
  auto watch = discovery_->watch("busy", busy.callback());
  ASSERT_TRUE(eventually([&] { return busy.count() == 1; }));
  ASSERT_TRUE(polling());
  rpc::BlockingClient client(discoveryd_->address(), 5s);
  Addresses all;
  const auto began = std::chrono::steady_clock::now();
  for (int i = 0; i < 40; ++i) {
    all.push_back("b:" + std::to_string(1000 + i));
    ASSERT_TRUE(client.call(1, register_args("busy", all.back())).ok());
    std::this_thread::sleep_for(6ms);
  }
  const auto took = std::chrono::steady_clock::now() - began;
  ASSERT_TRUE(eventually([&] { return busy.last() == all; }, 2s));
  // At most one set a window while they came (a slow machine stretches the
  // registrations, and the bound with them), the first at once, the last after.
  const auto windows = static_cast<std::size_t>(took / 100ms);
  if (windows + 2 >= 40) GTEST_SKIP() << "40 registrations took " << windows << " windows: too slow to tell";
  EXPECT_LE(busy.count() - 1, windows + 2) << "in " << windows << " windows";
}

TEST_F(SharedWatch, ANameAddedWhileAPollWaitsIsFollowedAtOnce) {
  start();  // long polls of 30 s: waiting one out would fail the timeouts below
  WatchRecorder first;
  auto watch_first = discovery_->watch("first", first.callback());
  ASSERT_TRUE(eventually([&] { return first.count() == 1; }));
  ASSERT_TRUE(polling());

  register_instance("second", "s:1");
  WatchRecorder second;
  auto watch_second = discovery_->watch("second", second.callback());
  ASSERT_TRUE(eventually([&] { return second.last() == Addresses{"s:1"}; }, 5s));
  ASSERT_TRUE(polling());
  register_instance("second", "s:2");
  EXPECT_TRUE(eventually([&] { return second.last() == (Addresses{"s:1", "s:2"}); }, 5s));
  register_instance("first", "f:1");
  EXPECT_TRUE(eventually([&] { return first.last() == Addresses{"f:1"}; }, 5s));
  EXPECT_EQ(first.count(), 2u);
  EXPECT_TRUE(eventually([&] { return discoveryd_->open_connections() == 1; }));
}

TEST_F(SharedWatch, ManyNamesAddedInABurstRestartThePollOnce) {
  start();
  WatchRecorder first;
  auto watch_first = discovery_->watch("first", first.callback());
  ASSERT_TRUE(eventually([&] { return first.count() == 1; }));
  ASSERT_TRUE(polling());
  std::vector<std::unique_ptr<WatchRecorder>> recorders;
  std::vector<std::unique_ptr<discovery::WatchHandle>> watches;
  boost::asio::post(loop_.executor(), [&] {  // one burst, on the loop's thread as a router adds them
    for (int i = 0; i < 100; ++i) {
      recorders.push_back(std::make_unique<WatchRecorder>());
      watches.push_back(discovery_->watch("burst" + std::to_string(i), recorders.back()->callback()));
    }
  });
  ASSERT_TRUE(eventually([&] { return watches.size() == 100; }));
  for (auto& recorder : recorders) ASSERT_TRUE(eventually([&] { return recorder->count() == 1; }, 5s));
  EXPECT_EQ(first.count(), 1u) << "the restart's full answer redelivered an unchanged set";
  ASSERT_TRUE(polling());
  EXPECT_TRUE(eventually([&] { return discoveryd_->open_connections() == 1; }));
}

TEST_F(SharedWatch, StoppingOneOfTwoWatchesOfANameKeepsTheOther) {
  start();
  WatchRecorder kept, stopped;
  auto watch_kept = discovery_->watch("echo", kept.callback());
  auto watch_stopped = discovery_->watch("echo", stopped.callback());
  ASSERT_TRUE(eventually([&] { return kept.count() == 1 && stopped.count() == 1; }));
  watch_stopped->stop();
  register_instance("echo", "a:1");
  ASSERT_TRUE(eventually([&] { return kept.last() == Addresses{"a:1"}; }));
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(stopped.count(), 1u);

  WatchRecorder late;  // a name already followed: its current set at once
  auto watch_late = discovery_->watch("echo", late.callback());
  EXPECT_TRUE(eventually([&] { return late.last() == Addresses{"a:1"}; }));
}

TEST_F(SharedWatch, TheLastStoppedWatchClosesTheConnection) {
  start();
  WatchRecorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.count() == 1; }));
  ASSERT_TRUE(polling());
  watch.reset();
  EXPECT_TRUE(eventually([&] { return discoveryd_->open_connections() == 0; }));
  EXPECT_EQ(discoveryd_->service().waiting_long_polls(), 0u);

  auto again = discovery_->watch("echo", recorder.callback());  // and it comes back
  register_instance("echo", "a:1");
  EXPECT_TRUE(eventually([&] { return recorder.last() == Addresses{"a:1"}; }));
}

TEST_F(SharedWatch, WatchesRecoverAfterDiscoverydRestarts) {
  start();
  register_instance("a", "a:1");
  WatchRecorder a, b;
  auto watch_a = discovery_->watch("a", a.callback());
  auto watch_b = discovery_->watch("b", b.callback());
  ASSERT_TRUE(eventually([&] { return a.last() == Addresses{"a:1"} && b.count() == 1; }));

  discoveryd_.reset();  // the registry goes with it; its counter starts from zero again
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(a.count(), 1u) << "nothing is delivered while discoveryd is down";
  start();  // same port
  register_instance("b", "b:1");
  EXPECT_TRUE(eventually([&] { return b.last() == Addresses{"b:1"}; }));
  EXPECT_TRUE(eventually([&] { return a.last() == Addresses{}; })) << "a:1 is gone with the old registry";
  register_instance("a", "a:2");
  EXPECT_TRUE(eventually([&] { return a.last() == Addresses{"a:2"}; }));
}

TEST_F(SharedWatch, SetsPastTheAnswerBoundArriveOverSeveralPolls) {
  start({.max_list_bytes = 2048});
  for (int i = 0; i < 40; ++i) register_instance("name" + std::to_string(i), std::string(150, 'h') + ":1");
  std::vector<std::unique_ptr<WatchRecorder>> recorders;
  std::vector<std::unique_ptr<discovery::WatchHandle>> watches;
  for (int i = 0; i < 40; ++i) {
    recorders.push_back(std::make_unique<WatchRecorder>());
    watches.push_back(discovery_->watch("name" + std::to_string(i), recorders.back()->callback()));
  }
  for (auto& recorder : recorders) {
    EXPECT_TRUE(eventually([&] { return recorder->last() == Addresses{std::string(150, 'h') + ":1"}; }));
    EXPECT_EQ(recorder->count(), 1u);
  }
}

// A discoveryd that refuses "names" with status 3 (here: over its
// --max-watch-names, as an older one refuses the unknown form): each watch
// long-polls its own name, as before the shared watch.
TEST_F(SharedWatch, FallsBackToOneLongPollPerNameWhenNamesAreRefused) {
  start({.max_watch_names = 1});
  WatchRecorder a, b;
  auto watch_a = discovery_->watch("a", a.callback());
  auto watch_b = discovery_->watch("b", b.callback());
  ASSERT_TRUE(eventually([&] { return a.count() == 1 && b.count() == 1; }));
  ASSERT_TRUE(eventually([&] { return discoveryd_->service().waiting_long_polls() == 2; }));
  register_instance("b", "b:1");
  EXPECT_TRUE(eventually([&] { return b.last() == Addresses{"b:1"}; }));
  watch_b->stop();
  EXPECT_TRUE(eventually([&] { return discoveryd_->service().waiting_long_polls() == 1; }));
  WatchRecorder c;
  auto watch_c = discovery_->watch("c", c.callback());
  register_instance("c", "c:1");
  EXPECT_TRUE(eventually([&] { return c.last() == Addresses{"c:1"}; }));
  EXPECT_EQ(a.count(), 1u);
}

}  // namespace
}  // namespace routing::test
