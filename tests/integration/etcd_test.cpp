// The etcd:// backend against a real etcd (Debian's etcd-server), started on
// free loopback ports with a temporary data dir.
#include "discovery/discovery.h"
#include "discovery/etcd_discovery.h"
#include "support/delaying_proxy.h"
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

  // "echo" (holding a:1) and "kv" (empty), watched through one Discovery.
  struct EchoAndKv {
    WatchRecorder echo, kv;
    std::unique_ptr<discovery::WatchHandle> echo_watch, kv_watch;
  };
  // Registers a:1 and starts both watches; true once both delivered their set.
  bool watch_echo_and_kv(discovery::Discovery& watcher, EchoAndKv& watched) {
    if (!sync(discovery_->announce("echo", "a:1", 30s, {})).ok()) return false;
    watched.echo_watch = watcher.watch("echo", watched.echo.callback());
    watched.kv_watch = watcher.watch("kv", watched.kv.callback());
    return eventually([&] { return watched.echo.last() == std::vector<std::string>{"a:1"}; }, 5s) &&
           eventually([&] { return watched.kv.last() == std::vector<std::string>{}; }, 5s);
  }

  Etcd etcd_;
  app::ControlLoop loop_;
  std::unique_ptr<discovery::Discovery> discovery_ = discovery::make_discovery(etcd_.url(), loop_.executor());
};

TEST_F(EtcdTest, AnnouncesListsQueriesAndWithdraws) {
  auto announced = sync(discovery_->announce("echo", "127.0.0.1:7001", 5s, {}));
  ASSERT_TRUE(announced.ok()) << announced.error;
  EXPECT_GE(announced.value, 5s);
  ASSERT_TRUE(sync(discovery_->announce("echo", "127.0.0.1:7002", 5s, {})).ok());
  ASSERT_TRUE(sync(discovery_->announce("echo", "127.0.0.1:7002", 5s, {})).ok());  // a refresh
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
  ASSERT_TRUE(sync(discovery_->announce("kv", "127.0.0.1:7101", 5s, {})).ok());
  auto result = run_program("/usr/bin/etcdctl", {"--endpoints", etcd_.endpoint(), "get", "--prefix",
                                                 std::string(discovery::etcd_key_prefix)});
  EXPECT_NE(result.out.find("/routing/services/kv/127.0.0.1:7101"), std::string::npos) << result.out << result.err;
  ASSERT_TRUE(sync(discovery_->announce("kv/a%b", "127.0.0.1:7102", 5s, {})).ok());
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
    ASSERT_TRUE(sync(discovery_->announce(name, address, 5s, {})).ok()) << name;
  }
  EXPECT_EQ(sync(discovery_->list("echo")).value.addresses, std::vector<std::string>{"127.0.0.1:7001"});
  EXPECT_EQ(sync(discovery_->list("echo/sub")).value.addresses, std::vector<std::string>{"127.0.0.1:7002"});
  EXPECT_EQ(sync(discovery_->list("echo%2Fsub")).value.addresses, std::vector<std::string>{"127.0.0.1:7004"});
  EXPECT_EQ(sync(discovery_->list("echo/")).value.addresses, std::vector<std::string>{"127.0.0.1:7005"});

  // All four watches share one stream: each event is told apart by its key.
  WatchRecorder recorder, sub, escaped;
  auto watch = discovery_->watch("echo", recorder.callback());
  auto sub_watch = discovery_->watch("echo/sub", sub.callback());
  auto escaped_watch = discovery_->watch("echo%2Fsub", escaped.callback());
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"127.0.0.1:7001"}; }, 5s));
  ASSERT_TRUE(eventually([&] { return sub.last() == std::vector<std::string>{"127.0.0.1:7002"}; }, 5s));
  ASSERT_TRUE(eventually([&] { return escaped.last() == std::vector<std::string>{"127.0.0.1:7004"}; }, 5s));
  sync(discovery_->announce("echo/sub", "127.0.0.1:7012", 5s, {}));  // changes under "echo/..." and "echo2"
  sync(discovery_->withdraw("echo2", "127.0.0.1:7003"));
  sync(discovery_->announce("echo", "127.0.0.1:7011", 5s, {}));  // then one of its own, seen after them
  ASSERT_TRUE(eventually(
      [&] { return recorder.last() == std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7011"}; }, 5s));
  for (const auto& set : recorder.all()) {
    for (const auto& address : set) EXPECT_TRUE(address == "127.0.0.1:7001" || address == "127.0.0.1:7011") << address;
  }
  // Each name's changes are merged over its own window (update_merge_window),
  // so "echo/sub"'s set may come after "echo"'s.
  EXPECT_TRUE(eventually(
      [&] { return sub.last() == std::vector<std::string>{"127.0.0.1:7002", "127.0.0.1:7012"}; }, 5s))
      << (sub.last() ? sub.last()->size() : 0) << " addresses in the last set";
  EXPECT_EQ(escaped.all(), std::vector<std::vector<std::string>>{{"127.0.0.1:7004"}});
}

TEST_F(EtcdTest, WatchWakesOnEveryChange) {
  WatchRecorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.last().has_value(); }, 5s));
  EXPECT_TRUE(recorder.last()->empty());

  sync(discovery_->announce("echo", "a:1", 10s, {}));
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"a:1"}; }, 5s));
  sync(discovery_->announce("echo", "b:1", 10s, {}));
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"a:1", "b:1"}; }, 5s));
  sync(discovery_->withdraw("echo", "a:1"));
  EXPECT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"b:1"}; }, 5s));
}

// Changes within update_merge_window (100 ms) of the last set sent come
// together (as the rpc:// watch merges them): 30 registrations reach the
// watcher as a few sets, the last one holding them all.
TEST_F(EtcdTest, ChangesInQuickSuccessionComeTogether) {
  WatchRecorder recorder;
  auto watch = discovery_->watch("busy", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.last().has_value(); }, 5s));
  std::vector<std::string> all;
  const auto began = Clock::now();
  for (int i = 0; i < 30; ++i) {
    all.push_back("b:" + std::to_string(1000 + i));
    ASSERT_TRUE(sync(discovery_->announce("busy", all.back(), 30s, {})).ok());
  }
  const auto took = Clock::now() - began;
  ASSERT_TRUE(eventually([&] { return recorder.last() == all; }, 5s));
  // At most one set a window while they came, the first at once, the last after.
  const auto windows = static_cast<std::size_t>(took / 100ms);
  if (windows + 2 >= 30) GTEST_SKIP() << "30 registrations took " << windows << " windows: too slow to tell";
  EXPECT_LE(recorder.count() - 1, windows + 2) << "in " << windows << " windows";
}

// CONTRACT §11: a registration's zone, weight and meta travel in its key's
// value; list and watches read them, and a refresh with another placement
// (same lease) reaches the watch.
TEST_F(EtcdTest, PlacementsReachListAndWatches) {
  const discovery::Placement first{"us-east-1a", 30, {{"version", "1.2"}}};
  const discovery::Placement second{"us-east-1b", 60, {}};
  WatchRecorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.last().has_value(); }, 5s));

  ASSERT_TRUE(sync(discovery_->announce("echo", "a:1", 10s, first)).ok());
  ASSERT_TRUE(sync(discovery_->announce("echo", "b:1", 10s, {})).ok());
  EXPECT_EQ(sync(discovery_->list("echo")).value.placements,
            (std::map<std::string, discovery::Placement>{{"a:1", first}}));
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"a:1", "b:1"}; }, 5s));
  EXPECT_EQ(recorder.last_set()->placement_of("a:1"), first);

  auto values = run_program("/usr/bin/etcdctl", {"--endpoints", etcd_.endpoint(), "get", "--prefix",
                                                 std::string(discovery::etcd_key_prefix)});
  EXPECT_NE(values.out.find("/routing/services/echo/a:1\n" + discovery::etcd_instance_value("a:1", first) + "\n"),
            std::string::npos)
      << values.out;
  EXPECT_NE(values.out.find("/routing/services/echo/b:1\nb:1\n"), std::string::npos) << "the bare address";

  ASSERT_TRUE(sync(discovery_->announce("echo", "a:1", 10s, second)).ok());  // a refresh with another placement
  EXPECT_TRUE(eventually([&] { return recorder.last_set()->placement_of("a:1") == second; }, 5s));
  EXPECT_EQ(sync(discovery_->list("echo")).value.placement_of("a:1"), second);
  EXPECT_EQ(recorder.last(), (std::vector<std::string>{"a:1", "b:1"}));
  EXPECT_FALSE(sync(discovery_->announce("echo", "a:1", 10s, {"", 0, {}})).ok()) << "weight 0";
}

// Values as older versions wrote them (the bare address) read as instances
// without a placement; a value that is no instance is no instance.
TEST_F(EtcdTest, ReadsBothFormsOfValue) {
  WatchRecorder recorder;
  auto watch = discovery_->watch("old", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.last().has_value(); }, 5s));
  auto put = [&](const std::string& address, const std::string& value) {
    auto result = run_program("/usr/bin/etcdctl", {"--endpoints", etcd_.endpoint(), "put",
                                                   discovery::etcd_instance_key("old", address), value});
    EXPECT_EQ(result.exit_code, 0) << result.err;
  };
  put("127.0.0.1:9", "127.0.0.1:9");
  put("127.0.0.1:10", R"({"address":"127.0.0.1:10","zone":"z","weight":5})");
  put("127.0.0.1:11", R"({"address":"127.0.0.1:11","weight":0})");
  const std::vector<std::string> good{"127.0.0.1:10", "127.0.0.1:9"};  // not :11, whose weight is 0
  ASSERT_TRUE(eventually([&] { return recorder.last() == good; }, 5s));
  auto listed = sync(discovery_->list("old")).value;
  EXPECT_EQ(listed.addresses, good);
  EXPECT_EQ(listed.placements, (std::map<std::string, discovery::Placement>{{"127.0.0.1:10", {"z", 5, {}}}}));
  EXPECT_EQ(recorder.last_set()->placements, listed.placements);
  put("127.0.0.1:10", "{broken");  // once an instance, now none
  EXPECT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"127.0.0.1:9"}; }, 5s));
}

// etcd's gauges of open watch streams and watchers (etcd 3.4's /metrics): one
// /v3/watch request through the gateway is one stream with one watcher.
constexpr auto watch_streams = "etcd_debugging_mvcc_watch_stream_total";
constexpr auto watchers = "etcd_debugging_mvcc_watcher_total";

// Issue 20: a router holds one watch stream at etcd, however many names it
// follows; a registration of any of them reaches its watch on that stream.
TEST_F(EtcdTest, FiftyWatchedNamesShareOneWatchStream) {
  constexpr int names = 50;
  auto address_of = [](int i) { return "127.0.0.1:" + std::to_string(7000 + i); };
  std::vector<std::unique_ptr<WatchRecorder>> recorders;
  std::vector<std::unique_ptr<discovery::WatchHandle>> watches;
  for (int i = 0; i < names; ++i) {
    std::string name = "system-" + std::to_string(i);
    ASSERT_TRUE(sync(discovery_->announce(name, address_of(i), 10s, {})).ok()) << name;
    recorders.push_back(std::make_unique<WatchRecorder>());
    watches.push_back(discovery_->watch(name, recorders.back()->callback()));
  }
  for (int i = 0; i < names; ++i) {
    std::vector<std::string> expected{address_of(i)};
    ASSERT_TRUE(eventually([&] { return recorders[i]->last() == expected; }, 5s)) << i;
  }
  EXPECT_EQ(etcd_.metric(watch_streams), 1.0);
  EXPECT_EQ(etcd_.metric(watchers), 1.0);

  for (int i : {0, 17, 49}) {
    std::string name = "system-" + std::to_string(i);
    ASSERT_TRUE(sync(discovery_->announce(name, "127.0.0.2:9000", 10s, {})).ok());
    std::vector<std::string> expected{address_of(i), "127.0.0.2:9000"};
    EXPECT_TRUE(eventually([&] { return recorders[i]->last() == expected; }, 1s)) << name;
  }
  for (int i = 1; i < 17; ++i) EXPECT_EQ(recorders[i]->count(), 1u) << "system-" << i << " saw others' changes";

  watches.clear();  // nothing watched: nothing held at etcd
  EXPECT_TRUE(eventually([&] { return etcd_.metric(watchers) == 0.0; }, 5s)) << *etcd_.metric(watchers);
  EXPECT_EQ(etcd_.metric(watch_streams), 0.0);
}

TEST_F(EtcdTest, ANameWatchedAfterTheStreamStartedSeesItsLaterChanges) {
  WatchRecorder first, later;
  auto first_watch = discovery_->watch("first", first.callback());
  ASSERT_TRUE(eventually([&] { return first.last().has_value(); }, 5s));
  ASSERT_EQ(etcd_.metric(watch_streams), 1.0);
  ASSERT_TRUE(sync(discovery_->announce("later", "a:1", 10s, {})).ok());  // before its watch: found by its read

  auto later_watch = discovery_->watch("later", later.callback());
  ASSERT_TRUE(eventually([&] { return later.last() == std::vector<std::string>{"a:1"}; }, 5s));
  ASSERT_TRUE(sync(discovery_->announce("later", "b:1", 10s, {})).ok());
  ASSERT_TRUE(eventually([&] { return later.last() == std::vector<std::string>{"a:1", "b:1"}; }, 5s));
  ASSERT_TRUE(sync(discovery_->withdraw("later", "a:1")).ok());
  ASSERT_TRUE(eventually([&] { return later.last() == std::vector<std::string>{"b:1"}; }, 5s));
  // Each set once, in order; the other name saw none of it; still one stream.
  EXPECT_EQ(later.all(), (std::vector<std::vector<std::string>>{{"a:1"}, {"a:1", "b:1"}, {"b:1"}}));
  EXPECT_EQ(first.all(), std::vector<std::vector<std::string>>{{}});
  EXPECT_EQ(etcd_.metric(watch_streams), 1.0);
}

TEST_F(EtcdTest, StoppingOneOfTwoWatchesOfANameKeepsTheOther) {
  WatchRecorder stopped, kept;
  auto first = discovery_->watch("echo", stopped.callback());
  auto second = discovery_->watch("echo", kept.callback());
  ASSERT_TRUE(eventually([&] { return stopped.last() && kept.last(); }, 5s));
  ASSERT_TRUE(sync(discovery_->announce("echo", "a:1", 10s, {})).ok());
  ASSERT_TRUE(eventually([&] { return stopped.last() == std::vector<std::string>{"a:1"}; }, 5s));
  ASSERT_TRUE(eventually([&] { return kept.last() == std::vector<std::string>{"a:1"}; }, 5s));

  first->stop();
  ASSERT_TRUE(sync(discovery_->announce("echo", "b:1", 10s, {})).ok());
  ASSERT_TRUE(eventually([&] { return kept.last() == std::vector<std::string>{"a:1", "b:1"}; }, 5s));
  EXPECT_EQ(stopped.count(), 2u);  // it would have been offered the set first
  EXPECT_EQ(etcd_.metric(watchers), 1.0);
  second->stop();
  EXPECT_TRUE(eventually([&] { return etcd_.metric(watchers) == 0.0; }, 5s));
}

// Names change while their first reads are in flight (eight at a time): an
// event that races its name's read is applied after it when newer, so every
// watch ends at its name's current set.
TEST_F(EtcdTest, WatchesOfNamesChangingWhileTheyAreReadEndAtTheirCurrentSets) {
  constexpr int names = 100;
  std::vector<std::unique_ptr<WatchRecorder>> recorders;
  std::vector<std::unique_ptr<discovery::WatchHandle>> watches;
  for (int i = 0; i < names; ++i) {
    recorders.push_back(std::make_unique<WatchRecorder>());
    watches.push_back(discovery_->watch("busy-" + std::to_string(i), recorders.back()->callback()));
  }
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < names; ++i) {
      std::string address = "127.0.0." + std::to_string(round + 1) + ":" + std::to_string(7000 + i);
      ASSERT_TRUE(sync(discovery_->announce("busy-" + std::to_string(i), address, 30s, {})).ok());
    }
  }
  for (int i = 0; i < names; i += 2) sync(discovery_->withdraw("busy-" + std::to_string(i), "127.0.0.1:" + std::to_string(7000 + i)));
  for (int i = 0; i < names; ++i) {
    auto listed = sync(discovery_->list("busy-" + std::to_string(i)));
    ASSERT_TRUE(listed.ok()) << listed.error;
    EXPECT_EQ(listed.value.addresses.size(), i % 2 ? 2u : 1u);
    EXPECT_TRUE(eventually([&] { return recorders[i]->last() == listed.value.addresses; }, 5s)) << "busy-" << i;
  }
  EXPECT_EQ(etcd_.metric(watch_streams), 1.0);
}

// A change racing its name's first read: etcd serves the read, the change
// happens and its event arrives on the stream, and only then the read's
// answer (held back by a proxy). The event is kept and applied after the
// read, not dropped as "not read yet".
TEST_F(EtcdTest, AChangeRacingItsNamesFirstReadIsNotLost) {
  DelayingProxy proxy(etcd_.port(), "/v3/kv/range", 600ms);
  ASSERT_NE(proxy.port(), 0);
  auto watcher = discovery::make_discovery("etcd://127.0.0.1:" + std::to_string(proxy.port()), loop_.executor());
  WatchRecorder race;
  auto watch = watcher->watch("race", race.callback());
  std::this_thread::sleep_for(200ms);  // the stream is open; the read was served and is held back
  ASSERT_TRUE(sync(discovery_->announce("race", "a:1", 30s, {})).ok());
  EXPECT_TRUE(eventually([&] { return race.last() == std::vector<std::string>{"a:1"}; }, 5s));
  watch.reset();
}

// etcd killed and started again on its data: the stream resumes after the
// last event it received, so changes made as etcd came back are not missed;
// while etcd is down nothing is delivered.
TEST_F(EtcdTest, WatchesFollowEtcdThroughARestart) {
  EchoAndKv watched;
  ASSERT_TRUE(watch_echo_and_kv(*discovery_, watched));
  auto& [echo, kv, echo_watch, kv_watch] = watched;

  etcd_.kill();
  std::this_thread::sleep_for(1s);  // the stream breaks and retries meanwhile
  EXPECT_EQ(echo.count() + kv.count(), 2u) << "a set delivered while etcd was down";
  ASSERT_TRUE(etcd_.start()) << etcd_.log();
  ASSERT_TRUE(sync(discovery_->announce("kv", "k:1", 30s, {})).ok());
  ASSERT_TRUE(sync(discovery_->withdraw("echo", "a:1")).ok());

  EXPECT_TRUE(eventually([&] { return echo.last() == std::vector<std::string>{}; }, 15s));
  EXPECT_TRUE(eventually([&] { return kv.last() == std::vector<std::string>{"k:1"}; }, 15s));
  EXPECT_TRUE(eventually([&] { return etcd_.metric(watch_streams) == 1.0; }, 5s));
  ASSERT_TRUE(sync(discovery_->announce("echo", "b:1", 30s, {})).ok());
  EXPECT_TRUE(eventually([&] { return echo.last() == std::vector<std::string>{"b:1"}; }, 5s));
}

// The stream comes back after etcd compacted away the revision it would
// resume at: etcd cancels it, and every watched name is read again.
TEST_F(EtcdTest, WatchesReadTheirNamesAgainWhenTheirRevisionWasCompacted) {
  // The stream comes back 2.5 s to 5 s after the restart: etcd is compacted
  // before. (Should it come back sooner, the plain resume is what is tested.)
  discovery::DiscoveryOptions slow;
  slow.retry_initial = slow.retry_max = 5s;
  auto watcher = discovery::make_discovery(etcd_.url(), loop_.executor(), slow);
  EchoAndKv watched;
  ASSERT_TRUE(watch_echo_and_kv(*watcher, watched));
  auto& [echo, kv, echo_watch, kv_watch] = watched;

  etcd_.kill();
  ASSERT_TRUE(etcd_.start()) << etcd_.log();
  ASSERT_TRUE(sync(discovery_->announce("echo", "b:1", 30s, {})).ok());
  ASSERT_TRUE(sync(discovery_->withdraw("echo", "a:1")).ok());
  ASSERT_TRUE(sync(discovery_->announce("kv", "k:1", 30s, {})).ok());
  auto revision = sync(discovery_->list("echo")).value.index;
  auto compacted = run_program("/usr/bin/etcdctl",
                               {"--endpoints", etcd_.endpoint(), "compact", std::to_string(revision)});
  ASSERT_NE(compacted.out.find("compacted revision"), std::string::npos) << compacted.out << compacted.err;

  EXPECT_TRUE(eventually([&] { return echo.last() == std::vector<std::string>{"b:1"}; }, 20s));
  EXPECT_TRUE(eventually([&] { return kv.last() == std::vector<std::string>{"k:1"}; }, 20s));
  ASSERT_TRUE(sync(discovery_->announce("echo", "c:1", 30s, {})).ok());  // and the new stream follows
  EXPECT_TRUE(eventually([&] { return echo.last() == std::vector<std::string>{"b:1", "c:1"}; }, 5s));
  EXPECT_EQ(etcd_.metric(watch_streams), 1.0);
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
  auto announced = sync(cluster->announce("echo", "127.0.0.1:7001", 5s, {}));
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
