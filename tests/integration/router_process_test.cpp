// routing::Router against real echod and discoveryd processes.
#include <routing/router.h>

#include "discovery/protocol_json.h"
#include "rpc/blocking_client.h"
#include "support/ports.h"
#include "support/process.h"

#include "support/spread.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <map>
#include <thread>

namespace routing::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

class Cluster {
 public:
  Cluster() {
    discoveryd_ = std::make_unique<Process>(DISCOVERYD_PATH,
                                              std::vector<std::string>{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"});
    auto port = discoveryd_->wait_listening();
    EXPECT_TRUE(port);
    url_ = "rpc://127.0.0.1:" + std::to_string(port.value_or(0));
  }
  // Starts an echod registered under "echo"; returns its index.
  std::size_t add_echod(std::uint16_t port = 0) {
    auto process = std::make_unique<Process>(
        ECHOD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(port), "--discovery", url_,
                                             "--ttl-ms", "1000", "--drain-timeout-ms", "3000"});
    EXPECT_TRUE(process->wait_for_log("registered")) << process->log();
    addresses_.push_back("127.0.0.1:" + std::to_string(process->wait_listening().value_or(0)));
    echods_.push_back(std::move(process));
    return echods_.size() - 1;
  }
  Process& echod(std::size_t i) { return *echods_[i]; }
  const std::string& address(std::size_t i) const { return addresses_[i]; }
  const std::string& url() const { return url_; }

 private:
  std::unique_ptr<Process> discoveryd_;
  std::vector<std::unique_ptr<Process>> echods_;
  std::vector<std::string> addresses_;
  std::string url_;
};

RouterOptions options_for(const std::string& discovery) {
  RouterOptions options;
  options.discovery = discovery;
  return options;
}


std::vector<Reply> at_once(Router& router, int count, std::uint32_t procedure, const std::string& payload,
                           CallOptions options = {}) {
  asio::io_context ctx;
  std::vector<Reply> replies(count);
  for (int i = 0; i < count; ++i) {
    asio::co_spawn(ctx, [&, i]() -> asio::awaitable<void> {
      replies[i] = co_await router.async_call("echo", procedure, payload, options);
    }, asio::detached);
  }
  ctx.run();
  return replies;
}

TEST(RouterWithProcesses, EveryStrategySpreadsAcrossTheEchods) {
  Cluster cluster;
  for (int i = 0; i < 3; ++i) cluster.add_echod();
  Router router(options_for(cluster.url()));
  for (const char* strategy : {"round-robin", "random", "least-connections", "pick-2"}) {
    ASSERT_TRUE(router.set_strategy(strategy));
    auto seen = spread(router, 300);
    ASSERT_EQ(seen.size(), 3u) << strategy;
    for (auto [address, count] : seen) {
      if (std::string(strategy) == "round-robin") {
        EXPECT_EQ(count, 100) << address;
      }
      EXPECT_GT(count, 40) << strategy << " " << address;
    }
  }
}

TEST(RouterWithProcesses, BackPressureHoldsWithSlowEcho) {
  Cluster cluster;
  cluster.add_echod();
  cluster.add_echod();
  auto options = options_for(cluster.url());
  options.pool_size = 4;
  options.max_pending = 4;
  Router router(options);
  router.call("echo", 0, "");  // learn the backends first
  auto start = Clock::now();
  auto replies = at_once(router, 20, 2, "300:slow");
  auto took = Clock::now() - start;
  int ok = 0, refused = 0;
  for (const auto& reply : replies) {
    ok += reply.ok();
    refused += reply.status == Status::resource_exhausted;
  }
  EXPECT_EQ(ok, 8);
  EXPECT_EQ(refused, 12);
  // Eight 300 ms calls through four slots take two rounds: had more than four
  // been in flight at the backends, one round would have done.
  EXPECT_GE(took, 590ms);
}

TEST(RouterWithProcesses, DeadlinesEndSlowCalls) {
  Cluster cluster;
  cluster.add_echod();
  Router router(options_for(cluster.url()));
  Reply reply = router.call("echo", 2, "5000:late", CallOptions{.timeout = 200ms});
  EXPECT_EQ(reply.status, Status::deadline_exceeded);
  EXPECT_TRUE(router.call("echo", 1, "next").ok());
}

TEST(RouterWithProcesses, AnEchodKilledUnderLoadCostsOnlyItsCallsInFlight) {
  Cluster cluster;
  for (int i = 0; i < 3; ++i) cluster.add_echod();
  Router router(options_for(cluster.url()));
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      while (!done) {
        Reply reply = router.call("echo", 2, "2:x", CallOptions{.timeout = 2s});
        (reply.ok() ? ok : failed)++;
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  cluster.echod(1).signal(SIGKILL);
  std::this_thread::sleep_for(300ms);
  int failed_after_kill = failed;
  std::this_thread::sleep_for(1500ms);  // past its lease: discovery drops it too
  done = true;
  for (auto& caller : callers) caller.join();
  // At most the calls that were in flight on it: one per caller. A dying
  // process's sockets take requests until it has closed them (under ASan
  // and load, milliseconds), so every caller may lose one call there; one
  // whose call failed must not pick it again (System::failed_recently), nor
  // reuse one of its connections unchecked (the pool's trust window).
  EXPECT_LE(failed_after_kill, 8);
  EXPECT_EQ(failed.load(), failed_after_kill);
  EXPECT_GT(ok.load(), 200);
}

// Issue 21: SIGTERM to discoveryd and a successor on the same port at once
// made routers answer NOT_FOUND for about 2 s: the draining discoveryd
// answered long polls OK at once, so the watcher polled it again in a hot
// loop (its connection never quiet, so the drain never closed it), while
// the leases of the echods, which had moved to the successor, expired there.
// Now a draining discoveryd answers LIST 14 and closes, leases stop expiring
// while it drains, and the watcher reconnects: to the successor.
TEST(RouterWithProcesses, AGracefulDiscoverydRestartCostsNoCall) {
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  auto start_discoveryd = [&] {
    // The old listener closes a moment after SIGTERM (--drain-delay-ms 0):
    // until then the successor cannot bind, exits 1, and is started again.
    for (int attempt = 0;; ++attempt) {
      auto process = std::make_unique<Process>(
          DISCOVERYD_PATH, std::vector<std::string>{"--listen", address, "--admin", "127.0.0.1:0",
                                                    "--drain-timeout-ms", "4000"});
      if (process->wait_listening() || attempt == 50) return process;
      std::this_thread::sleep_for(20ms);
    }
  };
  auto old_discoveryd = start_discoveryd();
  std::vector<std::unique_ptr<Process>> echods;
  for (int i = 0; i < 2; ++i) {
    echods.push_back(std::make_unique<Process>(
        ECHOD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0", "--discovery", "rpc://" + address,
                                             "--ttl-ms", "1000"}));
    ASSERT_TRUE(echods.back()->wait_for_log("registered")) << echods.back()->log();
  }
  auto options = options_for("rpc://" + address);
  // Short, so that an empty set from the old discoveryd would show within
  // the test; long enough for the echods to reach the successor.
  options.empty_discovery_grace = 1000ms;
  Router router(options);
  ASSERT_TRUE(router.call("echo", 1, "warm").ok());

  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0}, not_found{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 3; ++t) {
    callers.emplace_back([&] {
      while (!done) {
        Reply reply = router.call("echo", 1, "x");
        (reply.ok() ? ok : failed)++;
        not_found += reply.status == Status::not_found;
        std::this_thread::sleep_for(1ms);
      }
    });
  }
  std::this_thread::sleep_for(500ms);
  old_discoveryd->signal(SIGTERM);
  auto successor = start_discoveryd();
  ASSERT_TRUE(successor->wait_listening()) << successor->log();
  // Past the echods' lease (1 s) plus the router's grace (1 s) plus a margin:
  // without the fix, the old discoveryd reports the echo set empty by now.
  std::this_thread::sleep_for(3000ms);
  done = true;
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(not_found.load(), 0);
  EXPECT_GT(ok.load(), 500);
  EXPECT_EQ(old_discoveryd->wait_exit(2s), 0) << old_discoveryd->log();
  // The echods moved: the successor knows both.
  rpc::BlockingClient client(address, 2s);
  auto set = discovery::parse_address_set(client.call(3, R"({"name":"echo"})").payload);
  ASSERT_TRUE(set);
  EXPECT_EQ(set->addresses.size(), 2u);
}

TEST(RouterWithProcesses, StalePooledConnectionsAfterARestartCostNothing) {
  auto port = free_port();
  auto start_echod = [&] {
    auto echod = std::make_unique<Process>(ECHOD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(port)});
    EXPECT_TRUE(echod->wait_listening());
    return echod;
  };
  auto echod = start_echod();
  auto options = options_for("static://echo=127.0.0.1:" + std::to_string(port));
  Router router(options);
  for (const auto& reply : at_once(router, 8, 2, "20:warm")) ASSERT_TRUE(reply.ok());
  ASSERT_GE(router.stats().systems.at(0).open_connections, 2u);
  echod->signal(SIGKILL);
  echod->wait_exit();
  echod = start_echod();
  int failures = 0;
  for (int i = 0; i < 50; ++i) failures += !router.call("echo", 1, "x").ok();
  EXPECT_EQ(failures, 0);
}

TEST(RouterWithProcesses, FollowsDiscoveryChangesDuringLoad) {
  Cluster cluster;
  cluster.add_echod();
  cluster.add_echod();
  Router router(options_for(cluster.url()));
  std::atomic<bool> done{false};
  std::atomic<int> failed{0};
  std::mutex seen_mutex;
  std::map<std::string, int> seen;
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      while (!done) {
        Reply reply = router.call("echo", 3, "");
        if (!reply.ok()) {
          ++failed;
          continue;
        }
        std::lock_guard lock(seen_mutex);
        ++seen[reply.payload];
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  auto third = cluster.add_echod();  // joins
  std::this_thread::sleep_for(500ms);
  cluster.echod(0).signal(SIGTERM);  // leaves cleanly: deregisters, then drains
  EXPECT_EQ(cluster.echod(0).wait_exit(5s), 0);
  {
    std::lock_guard lock(seen_mutex);
    seen.clear();
  }
  std::this_thread::sleep_for(500ms);
  done = true;
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(seen.count(cluster.address(0)), 0u);
  EXPECT_GT(seen[cluster.address(third)], 0);
}

}  // namespace
}  // namespace routing::test
