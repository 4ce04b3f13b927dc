// discoveryd and echod as real processes: leases of killed instances end,
// registrations survive a discoveryd restart, long polls cost no busy work.
#include "app/control_loop.h"
#include "discovery/discovery.h"
#include "discovery/protocol_json.h"
#include "discovery/rpc_discovery.h"
#include "rpc/blocking_client.h"
#include "support/ports.h"
#include "support/process.h"
#include "support/raw_socket.h"

#include "support/admin_http.h"
#include "support/eventually.h"
#include "support/proc_stats.h"
#include "support/watch_recorder.h"

#include <gtest/gtest.h>

#include <csignal>
#include <ctime>
#include <fstream>
#include <sys/resource.h>
#include <thread>
#include <unistd.h>

namespace routing::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

std::vector<std::string> listed(const std::string& address, const std::string& name = "echo") {
  rpc::BlockingClient client(address, 2s);
  Reply reply = client.call(3, R"({"name":")" + name + R"("})");
  auto set = discovery::parse_address_set(reply.payload);
  return set ? set->addresses : std::vector<std::string>{"<discoveryd unreachable>"};
}


struct Cluster {
  explicit Cluster(std::string drain_delay_ms = "0") : drain_delay_ms(std::move(drain_delay_ms)) {}
  std::uint16_t port = free_port();
  std::string address = "127.0.0.1:" + std::to_string(port);
  std::string drain_delay_ms;
  std::uint16_t admin_port = 0;
  std::unique_ptr<Process> discoveryd = start_discoveryd();

  std::unique_ptr<Process> start_discoveryd() {
    auto process = std::make_unique<Process>(
        DISCOVERYD_PATH, std::vector<std::string>{"--listen", address, "--admin", "127.0.0.1:0", "--drain-delay-ms",
                                                  drain_delay_ms});
    EXPECT_TRUE(process->wait_listening()) << process->log();
    admin_port = admin_port_in(process->log()).value_or(0);
    return process;
  }
  std::unique_ptr<Process> start_echod(const std::string& ttl_ms, std::vector<std::string> more_flags = {}) {
    std::vector<std::string> flags{"--listen", "127.0.0.1:0", "--discovery", "rpc://" + address, "--ttl-ms", ttl_ms};
    flags.insert(flags.end(), more_flags.begin(), more_flags.end());
    auto process = std::make_unique<Process>(ECHOD_PATH, std::move(flags));
    EXPECT_TRUE(process->wait_for_log("registered")) << process->log();
    return process;
  }
};

double metric(const Cluster& cluster, const std::string& series) {
  return metric_samples(admin_get(cluster.admin_port, "/metrics"))[series];
}

// CONTRACT §11: echod --zone Z --weight N registers them; LIST shows them.
TEST(DiscoveryProcesses, EchodRegistersItsZoneAndWeight) {
  Cluster cluster;
  auto zoned = cluster.start_echod("10000", {"--zone", "us-east-1a", "--weight", "30"});
  auto plain = cluster.start_echod("10000");
  auto zoned_address = "127.0.0.1:" + std::to_string(zoned->wait_listening().value_or(0));
  auto plain_address = "127.0.0.1:" + std::to_string(plain->wait_listening().value_or(0));
  rpc::BlockingClient client(cluster.address, 2s);
  Reply reply = client.call(3, R"({"name":"echo"})");
  auto set = discovery::parse_address_set(reply.payload);
  ASSERT_TRUE(set) << reply.payload;
  ASSERT_EQ(set->addresses.size(), 2u) << reply.payload;
  EXPECT_EQ(set->placement_of(zoned_address), (discovery::Placement{"us-east-1a", 30, {}})) << reply.payload;
  EXPECT_EQ(set->placement_of(plain_address), discovery::Placement{}) << reply.payload;
  EXPECT_NE(reply.payload.find(R"({"address":")" + zoned_address + R"(","zone":"us-east-1a","weight":30,"meta":{}})"),
            std::string::npos)
      << reply.payload;
}

TEST(DiscoveryProcesses, AKilledInstanceDisappearsAfterItsTtl) {
  Cluster cluster;
  auto echod = cluster.start_echod("500");
  auto port = echod->wait_listening();
  ASSERT_EQ(listed(cluster.address), std::vector<std::string>{"127.0.0.1:" + std::to_string(*port)});
  std::this_thread::sleep_for(1s);  // two lease lengths: refreshes keep it
  ASSERT_EQ(listed(cluster.address).size(), 1u);

  echod->signal(SIGKILL);
  auto killed_at = Clock::now();
  ASSERT_TRUE(eventually([&] { return listed(cluster.address).empty(); }, 3s));
  EXPECT_LT(Clock::now() - killed_at, 1500ms);  // ttl (500 ms) plus one second
}

TEST(DiscoveryProcesses, ACleanStopDeregistersAtOnce) {
  Cluster cluster;
  auto echod = cluster.start_echod("60000");
  ASSERT_EQ(listed(cluster.address).size(), 1u);
  echod->signal(SIGTERM);
  EXPECT_EQ(echod->wait_exit(5s), 0);
  EXPECT_TRUE(listed(cluster.address).empty());
  EXPECT_NE(echod->log().find("deregistered"), std::string::npos);
}

TEST(DiscoveryProcesses, RegistrationsComeBackAfterDiscoverydRestarts) {
  Cluster cluster;
  auto first = cluster.start_echod("600");
  auto second = cluster.start_echod("600");
  ASSERT_EQ(listed(cluster.address).size(), 2u);
  cluster.discoveryd->signal(SIGKILL);
  cluster.discoveryd->wait_exit();
  std::this_thread::sleep_for(500ms);  // refreshes fail meanwhile
  cluster.discoveryd = cluster.start_discoveryd();
  EXPECT_TRUE(eventually([&] { return listed(cluster.address).size() == 2; }, 3s));
  EXPECT_FALSE(first->wait_exit(0ms));  // nobody crashed
  EXPECT_FALSE(second->wait_exit(0ms));
}

// The shared rpc:// watch against a discoveryd killed (connections reset, not
// closed) and started again on its port, with an empty registry.
TEST(DiscoveryProcesses, SharedWatchesRecoverAfterDiscoverydIsKilledAndRestarted) {
  Cluster cluster;
  auto echod = cluster.start_echod("600");
  auto port = echod->wait_listening();
  app::ControlLoop loop;
  discovery::DiscoveryOptions options;
  options.retry_initial = 20ms;
  options.retry_max = 200ms;
  auto discovery = discovery::make_discovery("rpc://" + cluster.address, loop.executor(), options);
  WatchRecorder echo, kv;
  auto watch_echo = discovery->watch("echo", echo.callback());
  auto watch_kv = discovery->watch("kv", kv.callback());
  const std::vector<std::string> echo_set{"127.0.0.1:" + std::to_string(*port)};
  ASSERT_TRUE(eventually([&] { return echo.last() == echo_set && kv.count() == 1; }));

  cluster.discoveryd->signal(SIGKILL);
  cluster.discoveryd->wait_exit();
  cluster.discoveryd = cluster.start_discoveryd();
  rpc::BlockingClient client(cluster.address, 2s);
  ASSERT_TRUE(client.call(1, R"({"name":"kv","address":"127.0.0.1:7101"})").ok());
  EXPECT_TRUE(eventually([&] { return kv.last() == std::vector<std::string>{"127.0.0.1:7101"}; }));
  // echod registers again at its next refresh; the watch shows it throughout or again.
  EXPECT_TRUE(eventually([&] { return echo.last() == echo_set; }));
  ASSERT_TRUE(client.call(4, R"({"name":"kv","address":"127.0.0.1:7101"})").ok());
  EXPECT_TRUE(eventually([&] { return kv.last() == std::vector<std::string>{}; }));
}

TEST(DiscoveryProcesses, ThousandsOfWaitingLongPollsCostNoBusyWork) {
  Cluster cluster;
  constexpr int polls = 2000;
  std::vector<RawSocket> watchers;
  watchers.reserve(polls);
  for (int i = 0; i < polls; ++i) {
    watchers.emplace_back(cluster.port);
    ASSERT_TRUE(watchers.back().connected());
    watchers.back().send(R"(3:{"name":"echo","index":0,"wait_ms":30000})" "\n");
  }
  std::this_thread::sleep_for(500ms);  // all parked
  auto before = cpu_time(cluster.discoveryd->pid());
  std::this_thread::sleep_for(1s);
  auto used = cpu_time(cluster.discoveryd->pid()) - before;
  // Polling would burn most of a core; parked coroutines use next to nothing.
  EXPECT_LT(used, 100ms) << "discoveryd used " << used.count() << " ms of CPU in 1 s";

  rpc::BlockingClient client(cluster.address);
  client.call(1, R"({"name":"echo","address":"127.0.0.1:7001"})");
  auto changed_at = Clock::now();
  for (auto& watcher : watchers) {
    auto answer = watcher.read_line();
    ASSERT_TRUE(answer);
    ASSERT_NE(answer->find("127.0.0.1:7001"), std::string::npos);
  }
  EXPECT_LT(Clock::now() - changed_at, 5s);
}

// Issue 20, finding 5: 2,100 long polls whose clients hung up held 2,000
// descriptors for up to 5 minutes, and REGISTER was refused meanwhile.
TEST(DiscoveryProcesses, LongPollsWhoseClientsHangUpFreeTheirDescriptorsAtOnce) {
  Cluster cluster;
  const pid_t pid = cluster.discoveryd->pid();
  const std::size_t baseline = open_sockets(pid);
  constexpr std::size_t polls = 500;
  {
    std::vector<RawSocket> watchers;
    watchers.reserve(polls);
    for (std::size_t i = 0; i < polls; ++i) {
      watchers.emplace_back(cluster.port);
      ASSERT_TRUE(watchers.back().connected());
      watchers.back().send(R"(3:{"name":"echo","index":0,"wait_ms":300000})" "\n");
    }
    ASSERT_TRUE(eventually([&] { return open_sockets(pid) >= baseline + polls; }, 5s)) << open_sockets(pid);
  }  // every watcher hangs up
  EXPECT_TRUE(eventually([&] { return open_sockets(pid) <= baseline; }, 3s))
      << "discoveryd still holds " << open_sockets(pid) << " sockets, " << baseline << " before";
  rpc::BlockingClient client(cluster.address);
  EXPECT_TRUE(client.call(1, R"({"name":"echo","address":"127.0.0.1:7001"})").ok());
}

TEST(DiscoveryProcesses, SigtermAnswersWaitingLongPollsAndExits) {
  Cluster cluster;
  RawSocket watcher(cluster.port);
  watcher.send(R"(3:{"name":"echo","index":0,"wait_ms":300000})" "\n");
  ASSERT_TRUE(eventually([&] { return metric(cluster, "discoveryd_long_polls") == 1; }, 5s));
  cluster.discoveryd->signal(SIGTERM);
  auto answer = watcher.read_line();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->substr(0, 3), "14:") << *answer;  // reconnect: to the successor
  EXPECT_EQ(cluster.discoveryd->wait_exit(3s), 0);
}

// discoveryd's admin listener (docs/operations.md): its own figures, the
// process ones, and /readyz turning 503 from SIGTERM while /healthz stays 200.
TEST(DiscoveryProcesses, AdminListenerShowsMetricsAndReadiness) {
  Cluster cluster("2000");  // --drain-delay-ms: still up (and draining) after SIGTERM
  auto echod = cluster.start_echod("60000");
  auto samples = metric_samples(admin_get(cluster.admin_port, "/metrics"));
  EXPECT_EQ(samples["discoveryd_names"], 1);
  EXPECT_EQ(samples["discoveryd_instances"], 1);
  EXPECT_GE((samples[R"(discoveryd_answers_total{procedure="register",outcome="ok"})"]), 1);
  EXPECT_EQ((samples[R"(discoveryd_build_info{version="0.1.0"})"]), 1);
  EXPECT_GE(samples["discoveryd_connections"], 1);
  expect_plausible_process_figures(samples);
  EXPECT_EQ(admin_status(cluster.admin_port, "/readyz"), 200);
  EXPECT_EQ(admin_status(cluster.admin_port, "/status"), 404);
  EXPECT_NE(admin_get(cluster.admin_port, "/healthz").find("\r\nServer: discoveryd\r\n"), std::string::npos);
  {
    std::string answer = admin_get(cluster.admin_port, "/metrics");
    std::string path = "/tmp/routing-discoveryd-metrics-" + std::to_string(::getpid());
    std::ofstream(path) << answer.substr(answer.find("\r\n\r\n") + 4);
    auto check = run_program("/bin/bash", {"-c", "/usr/bin/promtool check metrics < " + path});
    std::remove(path.c_str());
    EXPECT_EQ(check.exit_code, 0) << check.out << check.err;
  }

  RawSocket watcher(cluster.port);
  watcher.send(R"(3:{"name":"echo","index":1000000,"wait_ms":300000})" "\n");
  ASSERT_TRUE(eventually([&] { return metric(cluster, "discoveryd_long_polls") == 1; }, 5s));
  cluster.discoveryd->signal(SIGTERM);
  ASSERT_TRUE(watcher.read_line());
  EXPECT_EQ(admin_status(cluster.admin_port, "/readyz"), 503);
  EXPECT_EQ(admin_status(cluster.admin_port, "/healthz"), 200);
  samples = metric_samples(admin_get(cluster.admin_port, "/metrics"));
  EXPECT_EQ(samples["discoveryd_draining"], 1);
  EXPECT_EQ(samples["discoveryd_long_polls"], 0);
  EXPECT_EQ((samples[R"(discoveryd_answers_total{procedure="list",outcome="draining"})"]), 1);
  EXPECT_EQ(cluster.discoveryd->wait_exit(5s), 0);
}

// Like routerd's (and like its main port): a second discoveryd given an admin
// port already taken exits 1 saying so, rather than silently sharing it.
TEST(DiscoveryProcesses, ExitsWithAClearErrorWhenTheAdminPortIsTaken) {
  Cluster cluster;
  ASSERT_NE(cluster.admin_port, 0) << cluster.discoveryd->log();
  Process second(DISCOVERYD_PATH,
                 {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:" + std::to_string(cluster.admin_port)});
  EXPECT_EQ(second.wait_exit(10s), 1) << second.log();
  EXPECT_NE(second.log().find("cannot listen on admin address"), std::string::npos) << second.log();
  EXPECT_EQ(admin_status(cluster.admin_port, "/readyz"), 200);
}

TEST(DiscoveryProcesses, BadDiscoveryFlagsFailWithOneLine) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--discovery", "zk://x:1"}, {"--discovery", "rpc://nohost"}, {"--ttl-ms", "0"},
           {"--advertise", "nowhere"}}) {
    auto result = run_program(ECHOD_PATH, args);
    EXPECT_EQ(result.exit_code, 2) << args[1];
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
  auto result = run_program(DISCOVERYD_PATH, {"--listen", "x"});
  EXPECT_EQ(result.exit_code, 2);
}

}  // namespace
}  // namespace routing::test
