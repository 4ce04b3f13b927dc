// Chaos: steady load through routerd and through the library (routing::Router)
// while echod instances and discoveryd are killed with SIGKILL and restarted,
// and an echod is paused with SIGSTOP for longer than the call deadline.
// Checked (docs/reliability.md): no call outlives its deadline by more than
// 100 ms; every failed call carries a status that says why, and no call gets a
// wrong answer; within 2 s after the faults stop every call succeeds again;
// descriptors and memory return to their baseline; nothing crashes.
#include <routing/proxy_client.h>
#include <routing/router.h>

#include "support/etcd.h"
#include "support/eventually.h"
#include "support/load_probe.h"
#include "support/ports.h"
#include "support/proc_stats.h"
#include "support/process.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <csignal>
#include <random>
#include <set>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto deadline = 500ms;
constexpr int echod_count = 3;

// discoveryd and echods on fixed ports, so that a restarted process comes
// back at the same address (as under a supervisor), and routerd.
class ChaosCluster {
 public:
  ChaosCluster() : discoveryd_port_(free_port()) {
    start_discoveryd();
    for (int i = 0; i < echod_count; ++i) {
      echod_ports_.push_back(free_port());
      echods_.emplace_back();
      start_echod(i);
    }
    routerd_ = std::make_unique<Process>(
        ROUTERD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery",
                                               url(), "--health-check-interval-ms", "100",
                                               "--backend-idle-timeout-ms", "1000"});
    routerd_port_ = routerd_->wait_listening().value_or(0);
    EXPECT_NE(routerd_port_, 0) << routerd_->log();
  }

  std::string url() const { return "rpc://127.0.0.1:" + std::to_string(discoveryd_port_); }
  std::string routerd_address() const { return "127.0.0.1:" + std::to_string(routerd_port_); }
  Process& routerd() { return *routerd_; }

  void kill_and_restart_echod(int i, std::chrono::milliseconds down) {
    echods_[i]->signal(SIGKILL);
    echods_[i]->wait_exit();
    std::this_thread::sleep_for(down);
    start_echod(i);
  }
  void kill_and_restart_discoveryd(std::chrono::milliseconds down) {
    discoveryd_->signal(SIGKILL);
    discoveryd_->wait_exit();
    std::this_thread::sleep_for(down);
    start_discoveryd();
  }
  void pause_echod(int i, std::chrono::milliseconds paused) {
    echods_[i]->signal(SIGSTOP);
    std::this_thread::sleep_for(paused);
    echods_[i]->signal(SIGCONT);
  }
  // Every process still runs (none crashed).
  void expect_all_running() {
    EXPECT_FALSE(discoveryd_->wait_exit(0ms)) << discoveryd_->log();
    for (auto& echod : echods_) EXPECT_FALSE(echod->wait_exit(0ms)) << echod->log();
    EXPECT_FALSE(routerd_->wait_exit(0ms)) << routerd_->log();
  }

 private:
  void start_discoveryd() {
    discoveryd_ = std::make_unique<Process>(
        DISCOVERYD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(discoveryd_port_),
                                                  "--admin", "127.0.0.1:0"});
    EXPECT_TRUE(discoveryd_->wait_listening()) << discoveryd_->log();
  }
  void start_echod(int i) {
    echods_[i] = std::make_unique<Process>(
        ECHOD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(echod_ports_[i]),
                                             "--discovery", url(), "--ttl-ms", "1000"});
    EXPECT_TRUE(echods_[i]->wait_listening()) << echods_[i]->log();
  }

  std::uint16_t discoveryd_port_;
  std::unique_ptr<Process> discoveryd_;
  std::vector<std::uint16_t> echod_ports_;
  std::vector<std::unique_ptr<Process>> echods_;
  std::unique_ptr<Process> routerd_;
  std::uint16_t routerd_port_ = 0;
};

// SIGKILL + restart of an echod, of discoveryd, and a SIGSTOP longer than the
// deadline, each at least once, then more of them at random, for `length`.
void inflict_faults(ChaosCluster& cluster, std::mt19937& rng, Clock::duration length) {
  auto start = Clock::now();
  auto at = [&] { return std::chrono::duration_cast<std::chrono::milliseconds>(Clock::now() - start).count(); };
  enum Fault { kill_echod, kill_discoveryd, pause_echod };
  std::vector<Fault> plan{kill_echod, kill_discoveryd, pause_echod};
  std::shuffle(plan.begin(), plan.end(), rng);
  auto end = Clock::now() + length;
  for (std::size_t n = 0; n < plan.size() || Clock::now() < end; ++n) {
    Fault fault = n < plan.size() ? plan[n] : static_cast<Fault>(rng() % 3);
    int echod = static_cast<int>(rng() % echod_count);
    auto pick = [&](int lo, int hi) { return std::chrono::milliseconds(lo + rng() % (hi - lo)); };
    switch (fault) {
      case kill_echod:
        std::printf("%5lld ms: SIGKILL echod %d\n", static_cast<long long>(at()), echod);
        cluster.kill_and_restart_echod(echod, pick(100, 800));
        std::printf("%5lld ms: echod %d restarted\n", static_cast<long long>(at()), echod);
        break;
      case kill_discoveryd:
        std::printf("%5lld ms: SIGKILL discoveryd\n", static_cast<long long>(at()));
        cluster.kill_and_restart_discoveryd(pick(100, 800));
        std::printf("%5lld ms: discoveryd restarted\n", static_cast<long long>(at()));
        break;
      case pause_echod:
        std::printf("%5lld ms: SIGSTOP echod %d\n", static_cast<long long>(at()), echod);
        cluster.pause_echod(echod, 2 * deadline + pick(0, 500));
        std::printf("%5lld ms: SIGCONT echod %d\n", static_cast<long long>(at()), echod);
        break;
    }
    std::this_thread::sleep_for(pick(100, 500));
  }
}

struct Resources {
  std::size_t fds;
  std::size_t kib;
};
Resources resources_of(pid_t pid) { return {open_fds(pid), resident_kib(pid)}; }

// Checks one probe's record and prints it; `faults_end` is when the last
// fault was undone.
void check_probe(const char* mode, const LoadProbe& probe, Clock::time_point start, Clock::time_point faults_end) {
  auto during = probe.summary(start, faults_end);
  auto after = probe.summary(faults_end);
  std::printf("%s, during faults: %s\n%s, after faults:  %s\n", mode, during.describe().c_str(), mode,
              after.describe().c_str());
  auto ms = [](Clock::duration d) { return static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(d).count()); };
  std::printf("%s, slowest call: started at %lld ms, took %lld ms, status %d %s\n", mode,
              ms(during.slowest.start - start), ms(during.slowest.took), static_cast<int>(during.slowest.status),
              during.slowest.error.c_str());
  EXPECT_LT(during.worst_overshoot, 100ms) << mode;
  EXPECT_LT(after.worst_overshoot, 100ms) << mode;
  EXPECT_EQ(during.wrong_answers + after.wrong_answers, 0u) << mode;
  // Each failure says why: deadline (4), backend unavailable (14), or no
  // instance known while discoveryd had just restarted empty (5).
  for (auto& [status, count] : during.failures) {
    EXPECT_TRUE(status == 4 || status == 14 || status == 5) << mode << ": " << count << " calls failed with " << status;
  }
  EXPECT_GT(during.failures.size(), 0u) << mode << ": the faults should have been felt";
  // Back to 100%: the last failure started within 2 s of the faults' end.
  auto recovered = probe.summary(faults_end + 2s);
  EXPECT_GT(recovered.calls, 100u) << mode;
  EXPECT_EQ(recovered.correct, recovered.calls) << mode << ": " << recovered.describe();
  std::printf("%s, from 2 s after the faults: %s\n", mode, recovered.describe().c_str());
}

// The same steady load in both modes: two threads through routerd (a
// ProxyClient), two through the library (a Router of this process).
struct LoadInBothModes {
  LoadInBothModes(const std::string& discovery, const std::string& routerd_address) {
    RouterOptions options;
    options.discovery = discovery;
    options.health_check_interval = 100ms;
    options.idle_timeout = 1000ms;  // what the faults leave idle goes soon
    router = std::make_unique<Router>(options);
    ProxyClientOptions proxy_options;
    proxy_options.address = routerd_address;
    proxy_options.connections = 2;  // one per thread
    proxy = std::make_unique<ProxyClient>(proxy_options);
    proxy_load = std::make_unique<LoadProbe>(
        [this](const std::string& payload, std::chrono::milliseconds timeout) {
          return proxy->call("echo", 1, payload, {.timeout = timeout});
        },
        2, deadline, 500us);
    library_load = std::make_unique<LoadProbe>(
        [this](const std::string& payload, std::chrono::milliseconds timeout) {
          return router->call("echo", 1, payload, {.timeout = timeout});
        },
        2, deadline, 500us);
  }
  void stop() {
    proxy_load->stop();
    library_load->stop();
  }

  std::unique_ptr<Router> router;
  std::unique_ptr<ProxyClient> proxy;
  std::unique_ptr<LoadProbe> proxy_load, library_load;  // declared last: stopped first
};

TEST(Chaos, KillsAndPausesUnderLoadLoseNothingAndRecover) {
  ChaosCluster cluster;
  LoadInBothModes load(cluster.url(), cluster.routerd_address());
  std::this_thread::sleep_for(1500ms);  // pools warm, every backend known
  auto routerd_before = resources_of(cluster.routerd().pid());
  auto self_before = resources_of(::getpid());

  // ROUTING_CHAOS_SEED=N replays a schedule of faults (timings still vary).
  const char* forced = std::getenv("ROUTING_CHAOS_SEED");
  auto seed = forced ? static_cast<unsigned>(std::stoul(forced)) : static_cast<unsigned>(std::random_device{}());
  std::printf("chaos seed %u\n", seed);
  std::mt19937 rng(seed);
  auto start = Clock::now();
  inflict_faults(cluster, rng, 8s);
  auto faults_end = Clock::now();
  std::this_thread::sleep_for(4s);
  load.stop();

  SCOPED_TRACE("chaos seed " + std::to_string(seed));
  check_probe("proxy mode", *load.proxy_load, start, faults_end);
  check_probe("library mode", *load.library_load, start, faults_end);
  cluster.expect_all_running();

  // Idle pooled connections close after 1 s; whatever the faults left open
  // must go, in routerd and in this process (the library's pools).
  auto back = [](pid_t pid, Resources before) { return open_fds(pid) <= before.fds + 2; };
  EXPECT_TRUE(eventually([&] { return back(cluster.routerd().pid(), routerd_before); }, 5s))
      << "routerd: " << open_fds(cluster.routerd().pid()) << " descriptors, " << routerd_before.fds << " before";
  EXPECT_TRUE(eventually([&] { return back(::getpid(), self_before); }, 5s))
      << "library: " << open_fds(::getpid()) << " descriptors, " << self_before.fds << " before";
  auto routerd_after = resources_of(cluster.routerd().pid());
  auto self_after = resources_of(::getpid());
  std::printf("routerd: %zu fds / %zu KiB before, %zu fds / %zu KiB after\n", routerd_before.fds,
              routerd_before.kib, routerd_after.fds, routerd_after.kib);
  std::printf("library (this process): %zu fds / %zu KiB before, %zu fds / %zu KiB after\n", self_before.fds,
              self_before.kib, self_after.fds, self_after.kib);
  if (!under_sanitizer) {
    EXPECT_LT(routerd_after.kib, routerd_before.kib + 8 * 1024);
    EXPECT_LT(self_after.kib, self_before.kib + 16 * 1024);
  }
  // And routerd still stops cleanly.
  cluster.routerd().signal(SIGTERM);
  EXPECT_EQ(cluster.routerd().wait_exit(15s), 0) << cluster.routerd().log();
}

// Discovery through etcd: etcd killed with SIGKILL under load and started
// again on the same data two seconds later. Routers keep routing to the set
// they had, instances keep their leases (etcd renews them when it comes back),
// and watches resume: an outage of discovery costs no call.
TEST(Chaos, AnEtcdOutageCostsNoCall) {
  Etcd etcd;
  ASSERT_TRUE(etcd.ready()) << etcd.log();
  std::vector<std::unique_ptr<Process>> echods;
  for (int i = 0; i < echod_count; ++i) {
    echods.push_back(std::make_unique<Process>(
        ECHOD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0", "--discovery", etcd.url(), "--ttl-ms", "5000"}));
    ASSERT_TRUE(echods.back()->wait_for_log("registered")) << echods.back()->log();
  }
  Process routerd(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery", etcd.url(),
                                 "--health-check-interval-ms", "100"});
  auto routerd_port = routerd.wait_listening();
  ASSERT_TRUE(routerd_port) << routerd.log();

  LoadInBothModes load(etcd.url(), "127.0.0.1:" + std::to_string(*routerd_port));
  std::this_thread::sleep_for(1500ms);

  auto start = Clock::now();
  etcd.kill();
  std::this_thread::sleep_for(2s);
  ASSERT_TRUE(etcd.start()) << etcd.log();
  std::printf("etcd down for %lld ms\n", static_cast<long long>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                                                     Clock::now() - start).count()));
  std::this_thread::sleep_for(4s);  // leases renewed, watches resumed
  load.stop();

  for (auto [mode, probe] : {std::pair{"proxy mode", load.proxy_load.get()}, std::pair{"library mode", load.library_load.get()}}) {
    auto s = probe->summary(start);
    std::printf("%s, etcd killed and restarted: %s\n", mode, s.describe().c_str());
    EXPECT_GT(s.calls, 1000u) << mode;
    EXPECT_EQ(s.correct, s.calls) << mode << ": " << s.describe();
    EXPECT_LT(s.worst_overshoot, 100ms) << mode;
  }
  for (auto& echod : echods) EXPECT_FALSE(echod->wait_exit(0ms)) << echod->log();
  EXPECT_FALSE(routerd.wait_exit(0ms)) << routerd.log();
  // The instances are still registered once etcd is back.
  auto listed = run_program("/usr/bin/etcdctl", {"--endpoints", etcd.endpoint(), "get", "--prefix", "--keys-only",
                                                 "/routing/services/echo/"});
  std::size_t keys = 0;
  for (std::size_t at = listed.out.find("/routing/services/echo/"); at != std::string::npos;
       at = listed.out.find("/routing/services/echo/", at + 1)) {
    ++keys;
  }
  EXPECT_EQ(keys, static_cast<std::size_t>(echod_count)) << listed.out << listed.err;
}

}  // namespace
}  // namespace routing::test
