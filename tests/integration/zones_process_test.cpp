// CONTRACT §11 with real processes: echod registers its zone and weight in
// discoveryd, routerd --zone keeps calls near, spills them when the zone
// fails and takes them back when it recovers (losing no call under load);
// weights; and routectl drain / undrain.
#include <routing/proxy_client.h>

#include "support/admin_http.h"
#include "support/process.h"

#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <csignal>
#include <map>
#include <thread>

namespace routing::test {
namespace {

namespace json = boost::json;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t whoami = 3;

// discoveryd, echods with placements, and one routerd.
class ZonedCluster {
 public:
  ZonedCluster() {
    discoveryd_ = std::make_unique<Process>(DISCOVERYD_PATH,
                                              std::vector<std::string>{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"});
    url_ = "rpc://127.0.0.1:" + std::to_string(discoveryd_->wait_listening().value_or(0));
  }
  // An echod registered as "echo" with `flags` (--zone, --weight); its index.
  std::size_t add_echod(std::vector<std::string> flags, std::uint16_t port = 0) {
    std::vector<std::string> args{"--listen", "127.0.0.1:" + std::to_string(port), "--discovery", url_,
                                  "--ttl-ms", "1000", "--drain-timeout-ms", "2000"};
    args.insert(args.end(), flags.begin(), flags.end());
    auto process = std::make_unique<Process>(ECHOD_PATH, args);
    EXPECT_TRUE(process->wait_for_log("registered")) << process->log();
    auto listening = process->wait_listening().value_or(0);
    if (port == 0) {
      echods_.push_back(std::move(process));
      addresses_.push_back("127.0.0.1:" + std::to_string(listening));
      return echods_.size() - 1;
    }
    for (std::size_t i = 0; i < addresses_.size(); ++i) {
      if (addresses_[i] == "127.0.0.1:" + std::to_string(port)) echods_[i] = std::move(process);
    }
    return 0;
  }
  void start_routerd(std::vector<std::string> flags) {
    std::vector<std::string> args{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery", url_,
                                  "--health-check-interval-ms", "100"};
    args.insert(args.end(), flags.begin(), flags.end());
    routerd_ = std::make_unique<Process>(ROUTERD_PATH, args);
    port_ = routerd_->wait_listening().value_or(0);
    admin_ = admin_port_in(routerd_->log()).value_or(0);
    ASSERT_TRUE(port_ && admin_) << routerd_->log();
  }
  Process& echod(std::size_t i) { return *echods_[i]; }
  const std::string& address(std::size_t i) const { return addresses_[i]; }
  std::uint16_t port_of(std::size_t i) const { return static_cast<std::uint16_t>(std::stoi(addresses_[i].substr(10))); }
  std::string routerd_address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::map<std::string, double> metrics() { return metric_samples(admin_get(admin_, "/metrics")); }
  const std::string& url() const { return url_; }
  Process& routerd() { return *routerd_; }

 private:
  std::unique_ptr<Process> discoveryd_;
  std::vector<std::unique_ptr<Process>> echods_;
  std::vector<std::string> addresses_;
  std::unique_ptr<Process> routerd_;
  std::string url_;
  std::uint16_t port_ = 0, admin_ = 0;
};

// Who answered each of `n` WHOAMI calls (failures as "status N").
std::map<std::string, int> answered_by(ProxyClient& proxy, int n) {
  std::map<std::string, int> seen;
  for (int i = 0; i < n; ++i) {
    Reply reply = proxy.call("echo", whoami, "");
    ++seen[reply.ok() ? reply.payload : "status " + std::to_string(static_cast<int>(reply.status))];
  }
  return seen;
}

template <typename Predicate>
bool eventually(Predicate done, std::chrono::milliseconds limit = 10s) {
  for (auto until = Clock::now() + limit; Clock::now() < until; std::this_thread::sleep_for(20ms)) {
    if (done()) return true;
  }
  return done();
}

TEST(ZonesWithProcesses, RouterdKeepsCallsInItsZoneSpillsWhenItFailsAndTakesThemBack) {
  ZonedCluster cluster;
  auto a1 = cluster.add_echod({"--zone", "a"});
  auto a2 = cluster.add_echod({"--zone", "a"});
  auto b1 = cluster.add_echod({"--zone", "b"});
  cluster.start_routerd({"--zone", "b"});
  ProxyClient proxy(cluster.routerd_address());

  auto healthy = answered_by(proxy, 40);
  EXPECT_EQ(healthy[cluster.address(b1)], 40) << "every call stays in zone b";
  auto samples = cluster.metrics();
  EXPECT_EQ((samples["routing_cross_zone_calls_total{system=\"echo\"}"]), 0);
  const std::string b_info = "routing_backend_info{system=\"echo\",backend=\"" + cluster.address(b1) +
                             "\",zone=\"b\",local=\"true\"}";
  EXPECT_EQ(samples[b_info], 1);

  // Load from another thread throughout the zone's failure and recovery.
  std::atomic<bool> stop{false};
  std::atomic<int> calls{0}, failures{0};
  std::string first_failure;
  std::thread load([&] {
    ProxyClient loader(cluster.routerd_address());
    CallOptions idempotent{.idempotent = true};
    while (!stop) {
      Reply reply = loader.call("echo", whoami, "", idempotent);
      ++calls;
      if (!reply.ok() && failures++ == 0) first_failure = reply.payload;
    }
  });

  cluster.echod(b1).signal(SIGKILL);  // zone b is gone: nothing near is left
  ASSERT_TRUE(eventually([&] {
    auto seen = answered_by(proxy, 10);
    return seen[cluster.address(a1)] + seen[cluster.address(a2)] == 10;
  })) << cluster.routerd().log();
  auto spilled = answered_by(proxy, 40);
  EXPECT_EQ(spilled[cluster.address(a1)] + spilled[cluster.address(a2)], 40);
  samples = cluster.metrics();
  EXPECT_GE((samples["routing_cross_zone_calls_total{system=\"echo\"}"]), 40);
  // A backend's series exist once it took calls.
  EXPECT_EQ((samples["routing_backend_info{system=\"echo\",backend=\"" + cluster.address(a1) +
                     "\",zone=\"a\",local=\"false\"}"]),
            1);

  cluster.add_echod({"--zone", "b"}, cluster.port_of(b1));  // the zone recovers, same address
  ASSERT_TRUE(eventually([&] { return answered_by(proxy, 10)[cluster.address(b1)] == 10; }))
      << cluster.routerd().log();
  EXPECT_EQ(answered_by(proxy, 40)[cluster.address(b1)], 40) << "the calls came back";

  stop = true;
  load.join();
  EXPECT_GT(calls.load(), 100);
  EXPECT_EQ(failures.load(), 0) << "of " << calls.load() << "; first: " << first_failure;
}

TEST(ZonesWithProcesses, WeightsRegisteredByEchodBiasTheCalls) {
  ZonedCluster cluster;
  auto light = cluster.add_echod({"--weight", "100"});
  auto heavy = cluster.add_echod({"--weight", "300"});
  cluster.start_routerd({});
  ProxyClient proxy(cluster.routerd_address());
  auto seen = answered_by(proxy, 400);
  EXPECT_NEAR(seen[cluster.address(heavy)], 300, 25);
  EXPECT_NEAR(seen[cluster.address(light)], 100, 25);
  auto status = json::parse(proxy.status().payload);
  for (const auto& backend : status.at("systems").at(0).at("backends").as_array()) {
    const bool is_heavy = backend.at("address").as_string() == cluster.address(heavy);
    EXPECT_EQ(backend.at("weight").as_int64(), is_heavy ? 300 : 100);
  }
  EXPECT_EQ((cluster.metrics()["routing_backend_weight{system=\"echo\",backend=\"" + cluster.address(heavy) + "\"}"]),
            300);
}

TEST(DrainWithProcesses, RoutectlDrainsABackendWhoseCallsInFlightFinish) {
  ZonedCluster cluster;
  auto first = cluster.add_echod({});
  auto second = cluster.add_echod({});
  cluster.start_routerd({});
  ProxyClient proxy(cluster.routerd_address());
  ASSERT_EQ(answered_by(proxy, 10).size(), 2u);

  // Two slow calls in flight, one on each backend (round-robin), then the drain.
  std::vector<Reply> slow(2);
  std::vector<std::thread> callers;
  for (int i = 0; i < 2; ++i) {
    callers.emplace_back([&, i] {
      ProxyClient caller(cluster.routerd_address());
      slow[i] = caller.call("echo", 2, "600:done");
    });
  }
  ASSERT_TRUE(eventually([&] { return cluster.metrics()["routing_in_flight{system=\"echo\"}"] == 2; }));
  auto drained = run_program(ROUTECTL_PATH, {"drain", "echo", cluster.address(first), "--proxy", cluster.routerd_address()});
  EXPECT_EQ(drained.exit_code, 0) << drained.err;
  auto answer = json::parse(drained.out);
  EXPECT_EQ(answer.at("drained").as_bool(), true);
  EXPECT_EQ(answer.at("listed").as_bool(), true);
  EXPECT_EQ(answered_by(proxy, 20)[cluster.address(second)], 20) << "no new calls to the drained one";
  for (auto& caller : callers) caller.join();
  for (const auto& reply : slow) EXPECT_EQ(reply.payload, "done") << "calls in flight finish";

  auto samples = cluster.metrics();
  EXPECT_EQ((samples["routing_backend_drained{system=\"echo\",backend=\"" + cluster.address(first) + "\"}"]), 1);
  EXPECT_EQ((samples["routing_backend_drained{system=\"echo\",backend=\"" + cluster.address(second) + "\"}"]), 0);
  auto status = json::parse(proxy.status().payload);
  for (const auto& backend : status.at("systems").at(0).at("backends").as_array()) {
    EXPECT_EQ(backend.at("drained").as_bool(), backend.at("address").as_string() == cluster.address(first));
  }

  auto undrained =
      run_program(ROUTECTL_PATH, {"undrain", "echo", cluster.address(first), "--proxy", cluster.routerd_address()});
  EXPECT_EQ(undrained.exit_code, 0) << undrained.err;
  EXPECT_EQ(answered_by(proxy, 20)[cluster.address(first)], 10) << "back in the rotation";

  // Every backend drained: calls get 14 saying so.
  for (auto i : {first, second}) proxy.drain("echo", cluster.address(i));
  Reply none = proxy.call("echo", 1, "x");
  EXPECT_EQ(none.status, Status::unavailable);
  EXPECT_NE(none.payload.find("is drained"), std::string::npos) << none.payload;

  // Bad input: a clear answer, nothing changed.
  EXPECT_EQ(run_program(ROUTECTL_PATH, {"drain", "echo", "no-port", "--proxy", cluster.routerd_address()}).exit_code, 2);
  Reply missing = proxy.drain("echo", "");
  EXPECT_EQ(missing.status, Status::invalid_argument) << missing.payload;
  Reply unnamed = proxy.drain("", cluster.address(first));
  EXPECT_EQ(unnamed.status, Status::invalid_argument) << unnamed.payload;
  EXPECT_EQ(proxy.drain(std::string(2000, 'n'), cluster.address(first)).status, Status::invalid_argument);
}

}  // namespace
}  // namespace routing::test

namespace routing::test {
namespace {

// Calls answered by each routerd so far (its routing_calls_total).
double routed_by(std::uint16_t admin) {
  double sum = 0;
  for (const auto& [series, value] : metric_samples(admin_get(admin, "/metrics"))) {
    if (series.rfind("routing_calls_total{", 0) == 0) sum += value;
  }
  return sum;
}

struct RegisteredRouterd {
  std::unique_ptr<Process> process;
  std::string address;
  std::uint16_t admin = 0;
};

RegisteredRouterd start_registered_routerd(const std::string& discovery, const std::string& zone) {
  RegisteredRouterd r;
  r.process = std::make_unique<Process>(
      ROUTERD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery",
                                             discovery, "--register-as", "routerd", "--register-ttl-ms", "1000",
                                             "--zone", zone, "--drain-delay-ms", "0"});
  r.address = "127.0.0.1:" + std::to_string(r.process->wait_listening().value_or(0));
  r.admin = admin_port_in(r.process->log()).value_or(0);
  EXPECT_TRUE(r.process->wait_for_log("registered")) << r.process->log();
  return r;
}

TEST(SeveralRouterds, RegisterThemselvesAndProxyClientsSpreadOverThemAndMoveOnWhenOneIsDown) {
  ZonedCluster cluster;
  cluster.add_echod({});
  auto first = start_registered_routerd(cluster.url(), "a");
  auto second = start_registered_routerd(cluster.url(), "b");
  ASSERT_TRUE(first.admin && second.admin);
  auto listed = run_program(ROUTECTL_PATH, {"list", "routerd", "--discovery", cluster.url()});
  EXPECT_NE(listed.out.find(first.address), std::string::npos) << listed.out << listed.err;
  EXPECT_NE(listed.out.find(second.address), std::string::npos) << listed.out;

  ProxyClientOptions found;
  found.discovery = cluster.url();
  found.discovery_name = "routerd";
  ProxyClient through_discovery(found);
  ProxyClient through_list(first.address + "," + second.address);
  for (int i = 0; i < 20; ++i) {
    ASSERT_TRUE(through_discovery.call("echo", 1, "x").ok());
    ASSERT_TRUE(through_list.call("echo", 1, "x").ok());
  }
  EXPECT_GE(routed_by(first.admin), 15) << "calls spread over both";
  EXPECT_GE(routed_by(second.admin), 15) << "calls spread over both";

  first.process->signal(SIGKILL);  // its lease lasts a second more: clients must move on by themselves
  ASSERT_TRUE(first.process->wait_exit().has_value());
  // The clients' loops see their connections to it close within a turn; a
  // call sent before that would have been in flight (14 unless idempotent).
  std::this_thread::sleep_for(50ms);
  int failed = 0;
  for (int i = 0; i < 30; ++i) {
    failed += !through_discovery.call("echo", 1, "x").ok();
    failed += !through_list.call("echo", 1, "x").ok();
  }
  EXPECT_EQ(failed, 0);
  auto routectl = run_program(ROUTECTL_PATH, {"call", "echo", "1", "hi", "--proxy", first.address + "," + second.address});
  EXPECT_EQ(routectl.exit_code, 0) << routectl.err;
  EXPECT_EQ(routectl.out, "hi\n");
  routectl = run_program(ROUTECTL_PATH, {"call", "echo", "1", "hi", "--proxy-discovery", cluster.url(), "--proxy-name",
                                         "routerd"});
  EXPECT_EQ(routectl.exit_code, 0) << routectl.err;

  // A routerd that stops withdraws its registration before it goes.
  second.process->signal(SIGTERM);
  EXPECT_TRUE(second.process->wait_exit().has_value());
  EXPECT_TRUE(eventually([&] {
    return run_program(ROUTECTL_PATH, {"list", "routerd", "--discovery", cluster.url()}).out.find(second.address) ==
           std::string::npos;
  }));
  Reply none = through_list.call("echo", 1, "x");
  EXPECT_EQ(none.status, Status::unavailable);
  EXPECT_NE(none.payload.find("no routerd could take the call"), std::string::npos) << none.payload;

  // Bad lists are refused up front.
  EXPECT_THROW(ProxyClient("127.0.0.1:1,nonsense"), std::invalid_argument);
  EXPECT_EQ(run_program(ROUTECTL_PATH, {"call", "echo", "1", "x", "--proxy", "127.0.0.1:1,"}).exit_code, 2);
  EXPECT_EQ(run_program(ROUTERD_PATH, {"--register-as", ""}).exit_code, 2);
  EXPECT_EQ(run_program(ROUTERD_PATH, {"--advertise", "127.0.0.1:1"}).exit_code, 2) << "needs --register-as";
  auto wildcard = run_program(ROUTERD_PATH, {"--register-as", "r", "--listen", "0.0.0.0:0", "--check-config"});
  EXPECT_EQ(wildcard.exit_code, 2);
  EXPECT_NE(wildcard.err.find("needs --advertise"), std::string::npos) << wildcard.err;
  EXPECT_EQ(run_program(ROUTERD_PATH, {"--register-as", "r", "--advertise", "127.0.0.1:0", "--check-config"}).exit_code, 2);
  EXPECT_EQ(run_program(ROUTERD_PATH, {"--register-as", "r", "--discovery", "static://echo=127.0.0.1:1",
                                       "--check-config"}).exit_code,
            2);
  EXPECT_EQ(run_program(ROUTERD_PATH, {"--register-as", "r", "--check-config"}).exit_code, 0);
}

}  // namespace
}  // namespace routing::test

namespace routing::test {
namespace {

// A discoveryd that restarts is empty until the routerds register again: a
// ProxyClient that follows it keeps the routerds it knows meanwhile.
TEST(SeveralRouterds, AProxyClientKeepsItsRouterdsWhileARestartedDiscoverydIsEmpty) {
  auto discoveryd = std::make_unique<Process>(
      DISCOVERYD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"});
  const auto port = discoveryd->wait_listening().value_or(0);
  const std::string url = "rpc://127.0.0.1:" + std::to_string(port);
  Process echod(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--discovery", url, "--ttl-ms", "3000"});
  ASSERT_TRUE(echod.wait_for_log("registered")) << echod.log();
  // Leases of 3 s: re-registered a second after the restart at the latest.
  Process routerd(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery", url,
                                 "--register-as", "routerd", "--register-ttl-ms", "3000"});
  ASSERT_TRUE(routerd.wait_for_log("registered")) << routerd.log();
  ProxyClientOptions found;
  found.discovery = url;
  found.discovery_name = "routerd";
  ProxyClient proxy(found);
  ASSERT_TRUE(proxy.call("echo", 1, "x").ok());

  discoveryd->signal(SIGKILL);
  ASSERT_TRUE(discoveryd->wait_exit().has_value());
  discoveryd = std::make_unique<Process>(
      DISCOVERYD_PATH,
      std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(port), "--admin", "127.0.0.1:0"});
  ASSERT_TRUE(discoveryd->wait_listening().has_value()) << discoveryd->log();
  int failed = 0;
  std::string first_failure;
  for (auto until = Clock::now() + 1500ms; Clock::now() < until;) {
    Reply reply = proxy.call("echo", 1, "x");
    if (!reply.ok() && failed++ == 0) first_failure = reply.payload;
    std::this_thread::sleep_for(5ms);
  }
  EXPECT_EQ(failed, 0) << first_failure;
}

}  // namespace
}  // namespace routing::test
