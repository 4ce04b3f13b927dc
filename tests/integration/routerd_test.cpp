// routerd end to end: real discoveryd, echod and routerd processes.
#include <routing/proxy_client.h>

#include "rpc/blocking_client.h"
#include "rpc/codec.h"
#include "support/admin_http.h"
#include "support/eventually.h"
#include "support/ports.h"
#include "support/proc_stats.h"
#include "support/process.h"
#include "support/raw_socket.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <ctime>
#include <filesystem>
#include <future>
#include <fstream>
#include <map>
#include <regex>
#include <sstream>
#include <thread>

namespace routing::test {
namespace {

namespace asio = boost::asio;
namespace json = boost::json;
using namespace std::chrono_literals;

// discoveryd, `echods` echod registered as "echo", and routerd with `flags`.
class Cluster {
 public:
  explicit Cluster(int echods, std::vector<std::string> flags = {}) {
    discoveryd_ = std::make_unique<Process>(DISCOVERYD_PATH,
                                              std::vector<std::string>{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"});
    discovery_ = "rpc://127.0.0.1:" + std::to_string(discoveryd_->wait_listening().value_or(0));
    for (int i = 0; i < echods; ++i) add_echod();
    start_routerd(std::move(flags));
  }
  void start_routerd(std::vector<std::string> flags, std::vector<std::string> env = {}) {
    std::vector<std::string> args{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery", discovery_,
                                  "--health-check-interval-ms", "100"};
    args.insert(args.end(), flags.begin(), flags.end());
    routerd_ = std::make_unique<Process>(ROUTERD_PATH, args, env);
    port_ = routerd_->wait_listening().value_or(0);
    std::smatch match;
    std::string log = routerd_->log();
    if (std::regex_search(log, match, std::regex(R"(admin endpoint on http://[^ \n]*:(\d+))"))) {
      admin_port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
    }
    EXPECT_TRUE(port_ && admin_port_) << log;
  }
  std::size_t add_echod(std::uint16_t port = 0) {
    echods_.push_back(std::make_unique<Process>(
        ECHOD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:" + std::to_string(port), "--discovery", discovery_,
                                             "--ttl-ms", "1000"}));
    EXPECT_TRUE(echods_.back()->wait_for_log("registered")) << echods_.back()->log();
    ports_.push_back(echods_.back()->wait_listening().value_or(0));
    return echods_.size() - 1;
  }
  Process& echod(std::size_t i) { return *echods_[i]; }
  Process& discoveryd() { return *discoveryd_; }
  std::uint16_t echod_port(std::size_t i) const { return ports_[i]; }
  Process& routerd() { return *routerd_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }
  std::uint16_t admin_port() const { return admin_port_; }
  const std::string& discovery_url() const { return discovery_; }
  std::string http_get(const std::string& path) { return admin_get(admin_port_, path); }

 private:
  std::unique_ptr<Process> discoveryd_;
  std::vector<std::unique_ptr<Process>> echods_;
  std::vector<std::uint16_t> ports_;
  std::unique_ptr<Process> routerd_;
  std::string discovery_;
  std::uint16_t port_ = 0, admin_port_ = 0;
};

// Sends raw ROUTE arguments and returns the raw answer.
Reply route_raw(const std::string& address, const std::string& args, std::uint32_t procedure = 1) {
  rpc::BlockingClient client(address, 10s);
  return client.call(procedure, args);
}

TEST(Routerd, RoutesAndWrapsTheBackendsAnswer) {
  Cluster cluster(1);
  Reply reply = route_raw(cluster.address(), R"({"name":"echo","procedure_id":1,"payload":"héllo\nworld"})");
  EXPECT_EQ(reply.status, Status::ok);
  EXPECT_EQ(json::parse(reply.payload).at("payload").as_string(), "héllo\nworld");
  Reply backend_error = route_raw(cluster.address(), R"({"name":"echo","procedure_id":2,"payload":"nonsense"})");
  EXPECT_EQ(backend_error.status, Status::invalid_argument);  // the backend's own status...
  EXPECT_TRUE(json::parse(backend_error.payload).as_object().contains("payload"));  // ...and payload
}

TEST(Routerd, CarriesArbitraryBytesAsBase64) {
  Cluster cluster(1);
  std::string bytes("\xff\x00\xfe raw \x80", 9);
  ProxyClient proxy(cluster.address());
  Reply reply = proxy.call("echo", 1, bytes);
  EXPECT_TRUE(reply.ok()) << reply.payload;
  EXPECT_EQ(reply.payload, bytes);
  Reply raw = route_raw(cluster.address(), R"({"name":"echo","procedure_id":1,"payload_base64":"/wA="})");
  EXPECT_EQ(raw.payload, R"({"payload_base64":"/wA="})");
}

TEST(Routerd, AnswersEveryErrorOfTheContract) {
  Cluster cluster(1, {"--pool-size", "1", "--max-pending", "0"});
  for (const char* bad : {"not json", "[]", R"({"procedure_id":1,"payload":"x"})", R"({"name":"","procedure_id":1,"payload":"x"})",
                          R"({"name":"echo","payload":"x"})", R"({"name":"echo","procedure_id":-1,"payload":"x"})",
                          R"({"name":"echo","procedure_id":2147483648,"payload":"x"})", R"({"name":"echo","procedure_id":"1","payload":"x"})",
                          R"({"name":"echo","procedure_id":1})", R"({"name":"echo","procedure_id":1,"payload":"x","payload_base64":"eA=="})",
                          R"({"name":"echo","procedure_id":1,"payload_base64":"!!"})", R"({"name":"echo","procedure_id":1,"payload":7})",
                          R"({"name":"echo","procedure_id":1,"payload":"x","timeout_ms":0})",
                          R"({"name":"echo","procedure_id":1,"payload":"x","idempotent":"yes"})"}) {
    Reply reply = route_raw(cluster.address(), bad);
    EXPECT_EQ(reply.status, Status::invalid_argument) << bad;
    EXPECT_TRUE(json::parse(reply.payload).as_object().contains("error")) << reply.payload;
  }
  Reply missing = route_raw(cluster.address(), R"({"name":"ghost","procedure_id":1,"payload":"x"})");
  EXPECT_EQ(missing.status, Status::not_found);
  EXPECT_EQ(missing.payload, R"({"error":"no instances of 'ghost'"})");

  Reply late = route_raw(cluster.address(), R"({"name":"echo","procedure_id":2,"payload":"2000:x","timeout_ms":100})");
  EXPECT_EQ(late.status, Status::deadline_exceeded);
  EXPECT_TRUE(json::parse(late.payload).as_object().contains("error"));

  // Pool of one, no queue: a second call while one is in flight gets 8.
  auto slow = std::async(std::launch::async, [&] {
    return route_raw(cluster.address(), R"({"name":"echo","procedure_id":2,"payload":"500:x"})");
  });
  std::this_thread::sleep_for(150ms);
  Reply refused = route_raw(cluster.address(), R"({"name":"echo","procedure_id":1,"payload":"x"})");
  EXPECT_EQ(refused.status, Status::resource_exhausted) << refused.payload;
  EXPECT_TRUE(slow.get().ok());
}

// After one call there is an idle connection, so the next goes the callback
// path (RouterCore::call_then); its deadline must hold there too, and the
// connection it closed must not be reused.
TEST(Routerd, ACallOnAPooledConnectionEndsAtItsDeadline) {
  Cluster cluster(1);
  ASSERT_TRUE(route_raw(cluster.address(), R"({"name":"echo","procedure_id":1,"payload":"x"})").ok());
  auto start = std::chrono::steady_clock::now();
  Reply late = route_raw(cluster.address(), R"({"name":"echo","procedure_id":2,"payload":"2000:x","timeout_ms":100})");
  EXPECT_EQ(late.status, Status::deadline_exceeded) << late.payload;
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1s);
  Reply after = route_raw(cluster.address(), R"({"name":"echo","procedure_id":1,"payload":"after"})");
  EXPECT_EQ(after.payload, R"({"payload":"after"})");
}

// One slot, no queue: calls pipelined on one connection are served one after
// the other, each finding the slot its predecessor gave back before
// answering (else the next would be refused with 8).
TEST(Routerd, APipelinedCallFindsTheSlotItsPredecessorFreed) {
  Cluster cluster(1, {"--pool-size", "1", "--max-pending", "0"});
  ASSERT_TRUE(route_raw(cluster.address(), R"({"name":"echo","procedure_id":1,"payload":"warm"})").ok());
  RawSocket raw(cluster.port());
  std::string frame = rpc::encode_frame(1, R"({"name":"echo","procedure_id":1,"payload":"a"})");
  raw.send(frame + frame + frame + frame);
  for (int i = 0; i < 4; ++i) EXPECT_EQ(raw.read_line(), R"(0:{"payload":"a"})") << i;
}

TEST(Routerd, AnswersUnavailableWithoutAHealthyBackend) {
  Cluster cluster(1);
  ASSERT_TRUE(route_raw(cluster.address(), R"({"name":"echo","procedure_id":1,"payload":"x"})").ok());
  cluster.echod(0).signal(SIGKILL);  // still registered until its lease ends
  Reply reply = route_raw(cluster.address(), R"({"name":"echo","procedure_id":1,"payload":"x"})");
  EXPECT_EQ(reply.status, Status::unavailable) << reply.payload;
  EXPECT_TRUE(json::parse(reply.payload).as_object().contains("error"));
}

// CONTRACT section 10, metrics: bytes in and out, connect failures, discovery's last answer.
// Static discovery names a live echod and a port nobody listens on, for
// good (a registered echod that is killed leaves discovery when its lease
// ends, perhaps before it was tried: timing, not a test).
TEST(Routerd, MetricsCountBytesConnectFailuresAndDiscoveryAnswers) {
  Cluster cluster(1);
  const std::string live = "127.0.0.1:" + std::to_string(cluster.echod_port(0));
  const std::string dead = "127.0.0.1:" + std::to_string(free_port());
  Process routerd(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery",
                                 "static://echo=" + live + "," + dead, "--health-check", "off"});
  auto port = routerd.wait_listening();
  ASSERT_TRUE(port);
  const int calls = 10;
  for (int i = 0; i < calls; ++i) {
    // Spaced past the 100 ms in which a backend that just failed is passed
    // over, so that the dead one is tried again: a connect, refused, and the
    // call resent to the live one (it was not sent).
    Reply reply = route_raw("127.0.0.1:" + std::to_string(*port), R"({"name":"echo","procedure_id":1,"payload":"hello"})");
    EXPECT_TRUE(reply.ok()) << reply.payload;
    std::this_thread::sleep_for(110ms);
  }
  auto admin = admin_port_in(routerd.log());
  ASSERT_TRUE(admin);
  const std::string page = admin_get(*admin, "/metrics");
  auto samples = metric_samples(page);
  EXPECT_GE(samples["routing_backend_connect_failures_total{system=\"echo\",backend=\"" + dead + "\"}"], 1) << page;
  EXPECT_EQ(samples["routing_backend_connect_failures_total{system=\"echo\",backend=\"" + live + "\"}"], 0);
  EXPECT_EQ(samples.at("routerd_request_bytes_total"), 5 * calls) << page;  // "hello" each
  EXPECT_EQ(samples.at("routerd_response_bytes_total"), 5 * calls);
  const double now = std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch()).count();
  EXPECT_NEAR(samples.at("routing_discovery_last_success_timestamp_seconds"), now, 60);
  EXPECT_EQ(samples.at("routing_discovery_errors_total"), 0);
}

// CONTRACT section 10, logging: discovery unreachable is warned about, at
// most one line per 10 s however many calls find it so, and counted.
TEST(Routerd, WarnsOnceWhileDiscoveryIsUnreachableAndCountsEachFailure) {
  Process routerd(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery",
                                 "rpc://127.0.0.1:" + std::to_string(free_port()), "--unknown-name-ttl-ms", "0"});
  auto port = routerd.wait_listening();
  ASSERT_TRUE(port);
  for (int i = 0; i < 5; ++i) {
    Reply reply = route_raw("127.0.0.1:" + std::to_string(*port), R"({"name":"echo","procedure_id":1,"payload":"x"})");
    EXPECT_EQ(reply.status, Status::unavailable) << reply.payload;
  }
  ASSERT_TRUE(routerd.wait_for_log("discovery: LIST of 'echo' failed"));
  const std::string log = routerd.log();
  auto admin = admin_port_in(log);
  ASSERT_TRUE(admin);
  EXPECT_EQ(metric_samples(admin_get(*admin, "/metrics")).at("routing_discovery_errors_total"), 5);
  std::size_t lines = 0;
  for (auto at = log.find("discovery: "); at != std::string::npos; at = log.find("discovery: ", at + 1)) ++lines;
  EXPECT_EQ(lines, 1u) << log;
}

TEST(Routerd, SpreadsByEveryStrategyAndSwitchesPerSystem) {
  Cluster cluster(3);
  ProxyClient proxy(cluster.address());
  for (const char* strategy : {"round-robin", "random", "least-connections", "pick-2"}) {
    Reply set = proxy.set_strategy(strategy);
    ASSERT_TRUE(set.ok()) << set.payload;
    EXPECT_EQ(set.payload, std::string(R"({"strategy":")") + strategy + R"("})");
    std::map<std::string, int> seen;
    for (int i = 0; i < 150; ++i) ++seen[proxy.call("echo", 3, "").payload];
    EXPECT_EQ(seen.size(), 3u) << strategy;
    for (auto [address, count] : seen) EXPECT_GT(count, 20) << strategy << " " << address;
  }
  // peak-ewma prefers the backend that answered fastest: one call at a time
  // it need not spread (tests/integration/adaptive_test.cpp checks it).
  Reply latency_aware = proxy.set_strategy("peak-ewma");
  ASSERT_TRUE(latency_aware.ok()) << latency_aware.payload;
  EXPECT_EQ(latency_aware.payload, R"({"strategy":"peak-ewma"})");
  for (int i = 0; i < 50; ++i) EXPECT_TRUE(proxy.call("echo", 3, "").ok());
  EXPECT_EQ(proxy.set_strategy("fastest").status, Status::invalid_argument);
  ASSERT_TRUE(proxy.set_strategy("pick-2", "echo").ok());
  auto status = json::parse(proxy.status().payload);
  auto& system = status.at("systems").as_array().at(0).as_object();
  EXPECT_EQ(system.at("name").as_string(), "echo");
  EXPECT_EQ(system.at("strategy").as_string(), "pick-2");
  EXPECT_EQ(system.at("backends").as_array().size(), 3u);
  EXPECT_TRUE(system.at("backends").as_array().at(0).as_object().contains("healthy"));
}

// --pool-size auto: STATUS and /metrics show each backend's limit and what
// it was sized from; the system's pool size is the sum of the limits.
TEST(Routerd, AnAutoPoolSizeReportsItsLimits) {
  Cluster cluster(2, {"--pool-size", "auto", "--max-pool-size", "500", "--slow-start-ms", "1000"});
  ProxyClient proxy(cluster.address());
  for (int i = 0; i < 200; ++i) ASSERT_TRUE(proxy.call("echo", 1, "x").ok());
  std::this_thread::sleep_for(300ms);  // a few windows of the limits loop
  auto status = json::parse(proxy.status().payload);
  auto& system = status.at("systems").as_array().at(0).as_object();
  EXPECT_TRUE(system.at("adaptive_pool").as_bool());
  std::int64_t sum = 0;
  for (const auto& each : system.at("backends").as_array()) {
    const auto& adaptive = each.as_object().at("adaptive").as_object();
    EXPECT_GE(adaptive.at("limit").as_int64(), 1);
    EXPECT_GT(adaptive.at("min_latency_seconds").as_double(), 0);
    EXPECT_EQ(each.as_object().at("slow_start_share").as_double(), 1.0);  // the first set: no ramp
    sum += adaptive.at("limit").as_int64();
  }
  EXPECT_EQ(system.at("pool_size").as_int64(), std::clamp<std::int64_t>(sum, 1, 500));
  std::string metrics = cluster.http_get("/metrics");
  EXPECT_NE(metrics.find("routing_backend_limit{system=\"echo\",backend="), std::string::npos) << metrics;
  EXPECT_NE(cluster.routerd().log().find("pool size auto (up to 500)"), std::string::npos);
}

// Issue 21: the standard process_* families and routerd_build_info, from
// /proc of the running routerd.
TEST(Routerd, MetricsShowProcessFiguresAndBuildInfo) {
  Cluster cluster(1);
  auto answer = cluster.http_get("/metrics");
  EXPECT_NE(answer.find("\r\nServer: routerd\r\n"), std::string::npos) << answer.substr(0, answer.find("\r\n\r\n"));
  auto samples = metric_samples(answer);
  EXPECT_EQ((samples[R"(routerd_build_info{version="0.1.0"})"]), 1);
  expect_plausible_process_figures(samples);
}

// The admin port is routerd's alone: a second routerd given the same one
// exits 1 saying so, rather than sharing it (and half of the scrapes and
// probes) with the first.
TEST(Routerd, ExitsWithAClearErrorWhenTheAdminPortIsTaken) {
  Cluster cluster(0);
  ASSERT_NE(cluster.admin_port(), 0);
  Process second(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:" + std::to_string(cluster.admin_port()),
                                "--discovery", cluster.discovery_url()});
  EXPECT_EQ(second.wait_exit(10s), 1) << second.log();
  EXPECT_NE(second.log().find("cannot listen on admin address"), std::string::npos) << second.log();
  EXPECT_EQ(admin_status(cluster.admin_port(), "/healthz"), 200);
}

TEST(Routerd, AdminEndpointServesMetricsThatPromtoolAccepts) {
  Cluster cluster(2);
  ProxyClient proxy(cluster.address());
  for (int i = 0; i < 20; ++i) proxy.call("echo", 1, "x");
  proxy.call("echo", 2, "5:slow");
  proxy.call("echo", 2, "not a delay");
  proxy.call("ghost", 1, "x");
  std::string metrics = cluster.http_get("/metrics");
  ASSERT_NE(metrics.find("200 OK"), std::string::npos) << metrics;
  auto body = metrics.substr(metrics.find("\r\n\r\n") + 4);
  EXPECT_NE(body.find(R"(routing_calls_total{system="echo",code="0"} 21)"), std::string::npos) << body;
  EXPECT_NE(body.find(R"(routing_calls_by_procedure_total{system="echo",procedure="1",code="0"} 20)"),
            std::string::npos) << body;
  EXPECT_NE(body.find(R"(routing_calls_by_procedure_total{system="echo",procedure="2",code="0"} 1)"),
            std::string::npos) << body;
  EXPECT_NE(body.find(R"(routing_calls_by_procedure_total{system="echo",procedure="2",code="3"} 1)"),
            std::string::npos) << body;
  EXPECT_NE(body.find("routing_call_duration_seconds_bucket"), std::string::npos);
  auto path = temp_file(body);
  auto check = run_program("/bin/bash", {"-c", "/usr/bin/promtool check metrics < " + path});
  std::filesystem::remove(path);
  EXPECT_EQ(check.exit_code, 0) << check.out << check.err;

  EXPECT_NE(cluster.http_get("/healthz").find("200 OK"), std::string::npos);
  std::string status = cluster.http_get("/status");
  EXPECT_NE(status.find("\"systems\""), std::string::npos);
  EXPECT_NE(cluster.http_get("/nothing").find("404"), std::string::npos);
}

// CONTRACT section 10: `/` is a self-contained HTML status page under a
// policy that allows nothing external and only the page's own script.
TEST(Routerd, AdminServesAStatusPageThatLoadsNothingExternal) {
  Cluster cluster(1);
  ProxyClient proxy(cluster.address());
  ASSERT_TRUE(proxy.call("echo", 1, "x").ok());
  std::string response = cluster.http_get("/");
  ASSERT_NE(response.find("HTTP/1.0 200 OK\r\n"), std::string::npos) << response;
  auto end_of_head = response.find("\r\n\r\n");
  std::string head = response.substr(0, end_of_head), body = response.substr(end_of_head + 4);
  EXPECT_NE(head.find("Content-Type: text/html; charset=utf-8\r\n"), std::string::npos) << head;
  std::smatch policy;
  ASSERT_TRUE(std::regex_search(head, policy, std::regex("Content-Security-Policy: ([^\r]*)"))) << head;
  EXPECT_NE(policy[1].str().find("default-src 'none'"), std::string::npos) << policy[1];
  EXPECT_NE(policy[1].str().find("connect-src 'self'"), std::string::npos) << policy[1];
  EXPECT_EQ(body.find("http://"), std::string::npos);
  EXPECT_EQ(body.find("https://"), std::string::npos);
  EXPECT_NE(body.find("<h2>echo</h2>"), std::string::npos) << body;  // rendered by the server too
  EXPECT_NE(body.find("</html>"), std::string::npos);
  EXPECT_NE(cluster.http_get("/?x=1").find("200 OK"), std::string::npos);
  EXPECT_NE(cluster.http_get("/index.html").find("404"), std::string::npos);  // no other paths
}

// CONTRACT section 10: on SIGTERM /readyz turns 503 at once while routerd
// keeps accepting and serving for --drain-delay-ms (load balancers notice
// before the listener closes); /healthz stays 200 until exit.
TEST(Routerd, ReadinessTurnsOffBeforeTheListenerClosesAfterTheDrainDelay) {
  Cluster cluster(1, {"--drain-delay-ms", "4000"});  // long enough for the checks below, however loaded
  EXPECT_NE(cluster.http_get("/readyz").find("200 OK"), std::string::npos);
  const auto signalled = std::chrono::steady_clock::now();
  cluster.routerd().signal(SIGTERM);
  ASSERT_TRUE(eventually([&] { return cluster.http_get("/readyz").find("503") != std::string::npos; }, 1s));
  EXPECT_NE(cluster.http_get("/healthz").find("200 OK"), std::string::npos);
  // A newcomer is still accepted and served during the delay.
  ProxyClient late(cluster.address());
  EXPECT_TRUE(late.call("echo", 1, "still here").ok());
  EXPECT_EQ(cluster.routerd().wait_exit(20s), 0);
  EXPECT_GE(std::chrono::steady_clock::now() - signalled, 4000ms);
}

// CONTRACT section 10: SIGHUP reads the settings again without dropping a
// connection or a call; a bad file changes nothing (logged, counted); what
// cannot change yet is reported and kept. SIGUSR1 does not end routerd.
TEST(Routerd, ReloadsItsSettingsOnSighupAndSurvivesATypo) {
  auto config = temp_file("pool-size = 10\n");
  Cluster cluster(1, {"--config", config});
  ProxyClient proxy(cluster.address());
  ASSERT_TRUE(proxy.call("echo", 1, "x").ok());
  auto metric = [&](const std::string& name) {
    auto page = cluster.http_get("/metrics");
    auto at = page.find("\n" + name + " ");
    return at == std::string::npos ? -1 : std::stoi(page.substr(at + name.size() + 2));
  };
  // A typo: refused, nothing changes, routerd serves on.
  std::ofstream(config) << "pool-size = 10\nrate_limit = 1\n";
  cluster.routerd().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return metric("routerd_config_reload_failures_total") == 1; }, 5s));
  EXPECT_TRUE(cluster.routerd().wait_for_log("unknown setting 'rate_limit'"));
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(proxy.call("echo", 1, "x").ok());
  // A good file: the rate limit and the pool size apply at once; the thread
  // count is kept and reported.
  ProxyClient slow(cluster.address());
  std::thread in_flight([&] { EXPECT_TRUE(slow.call("echo", 2, "500:across the reload").ok()); });
  std::this_thread::sleep_for(100ms);
  std::ofstream(config) << "pool-size = 20\nrate-limit = 0.001\nrate-burst = 1\nthreads = 3\n";
  cluster.routerd().signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return metric("routerd_config_reloads_total") == 1; }, 5s));
  in_flight.join();
  EXPECT_TRUE(cluster.routerd().wait_for_log(
      "applied pool-size, rate-burst, rate-limit; changed but kept until a restart: threads"));
  auto first = proxy.call("echo", 1, "x");
  auto second = proxy.call("echo", 1, "x");
  EXPECT_TRUE(first.ok()) << first.payload;  // the burst
  EXPECT_EQ(second.status, Status::resource_exhausted);
  auto settings = cluster.http_get("/config");
  EXPECT_NE(settings.find("\nrate-limit = 0.001\n"), std::string::npos) << settings;
  EXPECT_NE(settings.find("\npool-size = 20\n"), std::string::npos) << settings;
  EXPECT_NE(settings.find("\nthreads = 1\n"), std::string::npos) << settings;  // in force until a restart
  EXPECT_NE(cluster.http_get("/status").find("\"pool_size\":20"), std::string::npos);
  cluster.routerd().signal(SIGUSR1);
  EXPECT_TRUE(cluster.routerd().wait_for_log("no log file to reopen"));
  EXPECT_EQ(proxy.call("echo", 1, "x").status, Status::resource_exhausted);  // still up, still limited
  std::filesystem::remove(config);
}

std::vector<json::object> access_lines(const std::string& path) {
  std::ifstream in(path);
  std::vector<json::object> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(json::parse(line).as_object());
  return lines;
}

// CONTRACT section 10: a reload changes the auth token (read from its file
// again) and the access log's file; SIGUSR1 reopens the access log after
// rotation. Connections authenticated before keep going.
TEST(Routerd, ReloadChangesTheTokenAndTheAccessLogAndSigusr1ReopensIt) {
  const std::string old_token = "old-token-0123456789", new_token = "new-token-0123456789";
  auto token = temp_file(old_token + "\n");
  auto first_log = temp_file(""), second_log = temp_file("");
  auto config = temp_file("access-log = \"" + first_log + "\"\n");
  Cluster cluster(1, {"--config", config, "--auth-token-file", token});
  const std::string route = R"(1:{"name":"echo","procedure_id":1,"payload":"x"})" "\n";
  RawSocket before(cluster.port());
  before.send("4:{\"token\":\"" + old_token + "\"}\n");
  ASSERT_EQ(before.read_line(), "0:{}");
  before.send(route);
  ASSERT_EQ(before.read_line(), R"(0:{"payload":"x"})");
  std::ofstream(token) << new_token << "\n";
  std::ofstream(config) << "access-log = \"" << second_log << "\"\n";
  cluster.routerd().signal(SIGHUP);
  ASSERT_TRUE(cluster.routerd().wait_for_log("applied access-log, auth token;"));
  before.send(route);
  EXPECT_EQ(before.read_line(), R"(0:{"payload":"x"})");  // authenticated before: still is
  RawSocket stale(cluster.port());
  stale.send("4:{\"token\":\"" + old_token + "\"}\n");
  EXPECT_EQ(stale.read_line(), R"(16:{"error":"invalid token"})");
  stale.send(route);
  EXPECT_EQ(stale.read_line()->substr(0, 3), "16:");
  ProxyClient fresh(ProxyClientOptions{.address = cluster.address(), .auth_token = new_token});
  EXPECT_TRUE(fresh.call("echo", 1, "z").ok());
  ASSERT_TRUE(eventually([&] { return access_lines(second_log).size() >= 3; }, 5s));

  // Rotation: the file moves away, SIGUSR1, and lines go to a new file.
  std::filesystem::rename(second_log, second_log + ".1");
  cluster.routerd().signal(SIGUSR1);
  ASSERT_TRUE(cluster.routerd().wait_for_log("reopened the access log " + second_log));
  EXPECT_TRUE(fresh.call("echo", 1, "after rotation").ok());
  ASSERT_TRUE(eventually([&] { return access_lines(second_log).size() == 1; }, 5s));

  auto old_lines = access_lines(first_log);
  ASSERT_EQ(old_lines.size(), 1u);
  auto rotated = access_lines(second_log + ".1");
  ASSERT_GE(rotated.size(), 3u);
  // The stale client's refusal is logged with routerd's reason.
  bool refusal_logged = false;
  for (const auto& line : rotated) {
    if (line.at("status").as_int64() == 16) {
      refusal_logged = true;
      EXPECT_EQ(line.at("by").as_string(), "router");
      EXPECT_NE(std::string(line.at("error").as_string()).find("authenticate first"), std::string::npos);
    }
  }
  EXPECT_TRUE(refusal_logged);
  auto last = access_lines(second_log).at(0);
  EXPECT_EQ(last.at("attempts").as_int64(), 1);
  EXPECT_EQ(last.at("backend").as_string(), "127.0.0.1:" + std::to_string(cluster.echod_port(0)));
  EXPECT_NE(last.at("request_id").as_string(), old_lines.at(0).at("request_id").as_string());
  for (const auto& path : {token, config, first_log, second_log, second_log + ".1"}) std::filesystem::remove(path);
}

// Authenticating while no token is set proves nothing: a reload that turns
// authentication on finds such a connection unauthenticated.
TEST(Routerd, TurningAuthenticationOnByReloadLeavesNoConnectionAuthenticated) {
  auto config = temp_file("log-level = \"info\"\n");
  Cluster cluster(1, {"--config", config});
  RawSocket early(cluster.port());
  early.send(R"(4:{"token":"anything"})" "\n");
  EXPECT_EQ(early.read_line(), "0:{}");
  std::ofstream(config) << "auth-token = \"0123456789abcdef-token\"\n";
  cluster.routerd().signal(SIGHUP);
  ASSERT_TRUE(cluster.routerd().wait_for_log("applied auth-token"));
  early.send(R"(1:{"name":"echo","procedure_id":1,"payload":"x"})" "\n");
  EXPECT_EQ(early.read_line()->substr(0, 3), "16:");
  std::filesystem::remove(config);
}

TEST(Routerd, AuthenticationIsRequiredWhenATokenIsSet) {
  auto token = temp_file("s3cret-0123456789abcdef\n");
  Cluster cluster(1, {"--auth-token-file", token});
  std::filesystem::remove(token);
  RawSocket raw(cluster.port());
  raw.send(R"(1:{"name":"echo","procedure_id":1,"payload":"x"})" "\n");
  auto refused = raw.read_line();
  ASSERT_TRUE(refused);
  EXPECT_EQ(refused->substr(0, 3), "16:");
  raw.send("0:\n");  // ping needs no token
  EXPECT_EQ(raw.read_line(), "0:pong");
  raw.send(R"(4:{"token":"wrong"})" "\n");
  EXPECT_EQ(raw.read_line(), R"(16:{"error":"invalid token"})");
  raw.send(R"(4:{"token":"s3cret-0123456789abcdef"})" "\n");
  EXPECT_EQ(raw.read_line(), "0:{}");
  raw.send(R"(1:{"name":"echo","procedure_id":1,"payload":"x"})" "\n");
  EXPECT_EQ(raw.read_line(), R"(0:{"payload":"x"})");

  ProxyClient with_token(ProxyClientOptions{.address = cluster.address(), .auth_token = "s3cret-0123456789abcdef"});
  EXPECT_TRUE(with_token.call("echo", 1, "x").ok());
  ProxyClient without(cluster.address());
  EXPECT_EQ(without.call("echo", 1, "x").status, Status::unauthenticated);
  EXPECT_NE(cluster.http_get("/metrics").find("routerd_auth_failures_total 3"), std::string::npos);
}

// Guessing the token (the finding: 211k guesses/s on one connection): one
// connection gets --auth-max-failures tries and is closed; one source address
// gets --auth-failure-burst failures, then AUTHENTICATE answers 8 without
// looking at the token, however many connections it opens. Counted, not
// timed: the failure budget refills at 0.01/s, nothing refills meanwhile.
TEST(Routerd, TokenGuessingIsBoundedPerConnectionAndPerAddress) {
  const std::string token = "correct-horse-battery-staple";
  Cluster cluster(1, {"--auth-token", token, "--auth-max-failures", "3", "--auth-failure-burst", "5",
                      "--auth-failure-rate", "0.01"});
  auto auth = [](const std::string& guess) { return R"(4:{"token":")" + guess + "\"}\n"; };
  RawSocket guesser(cluster.port(), 10s, "127.0.0.2");  // the attacker's address
  ASSERT_TRUE(guesser.connected());
  std::string pipelined;
  for (int i = 0; i < 50; ++i) pipelined += auth("guess-" + std::to_string(i));
  guesser.send(pipelined);
  std::vector<std::string> answers;
  while (auto line = guesser.read_line()) answers.push_back(*line);  // until routerd closes it
  EXPECT_EQ(answers, std::vector<std::string>(3, R"(16:{"error":"invalid token"})"));

  std::map<std::string, int> seen;  // answers by status
  for (int connection = 0; connection < 5; ++connection) {
    RawSocket again(cluster.port(), 10s, "127.0.0.2");
    for (int i = 0; i < 3; ++i) {
      again.send(auth(i == 2 ? token : "guess"));  // the right token too: unchecked once throttled
      auto line = again.read_line();
      ASSERT_TRUE(line);
      ++seen[line->substr(0, line->find(':'))];
    }
    EXPECT_TRUE(again.wait_closed());
  }
  EXPECT_EQ(seen["16"], 2);   // the rest of the address's 5 failures
  EXPECT_EQ(seen["8"], 13);   // then refused unchecked, the right token included
  EXPECT_EQ(seen["0"], 0);

  RawSocket honest(cluster.port());  // another address: unaffected
  honest.send(auth(token));
  EXPECT_EQ(honest.read_line(), "0:{}");
  honest.send(R"(1:{"name":"echo","procedure_id":1,"payload":"x"})" "\n");
  EXPECT_EQ(honest.read_line(), R"(0:{"payload":"x"})");
  auto metrics = cluster.http_get("/metrics");
  EXPECT_NE(metrics.find("routerd_auth_failures_total 5\n"), std::string::npos) << metrics;
  EXPECT_NE(metrics.find("routerd_auth_throttled_total 13\n"), std::string::npos);
  EXPECT_NE(metrics.find("routerd_auth_connections_closed_total 6\n"), std::string::npos);
  EXPECT_NE(metrics.find("routerd_auth_throttle_addresses 1\n"), std::string::npos);
}

TEST(Routerd, RefusesToStartWithATooShortToken) {
  auto short_file = temp_file("fifteen-bytes..\n");
  for (auto args : std::vector<std::vector<std::string>>{{"--auth-token", "fifteen-bytes.."},
                                                        {"--auth-token-file", short_file}, {"--auth-token", ""}}) {
    // A Process, not run_program: a routerd that wrongly starts is stopped by the test.
    args.insert(args.end(), {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery", "static://"});
    Process routerd(ROUTERD_PATH, args);
    EXPECT_EQ(routerd.wait_exit(10s), 2) << routerd.log();
    EXPECT_EQ(routerd.log(), "routerd: the auth token is " + std::to_string(args[1] == "" ? 0 : 15) +
                                 " bytes; at least 16 are required (e.g. from 'openssl rand -hex 16')\n");
  }
  std::filesystem::remove(short_file);
}

TEST(Routerd, WithoutATokenNoAuthenticationIsNeeded) {
  Cluster cluster(1);
  EXPECT_TRUE(ProxyClient(cluster.address()).call("echo", 1, "x").ok());
}

TEST(Routerd, RateLimitsEachSystem) {
  Cluster cluster(1, {"--rate-limit", "5", "--rate-burst", "5"});
  ProxyClient proxy(cluster.address());
  int ok = 0, limited = 0;
  for (int i = 0; i < 20; ++i) {
    Reply reply = proxy.call("echo", 1, "x");
    ok += reply.ok();
    limited += reply.status == Status::resource_exhausted;
  }
  EXPECT_GE(ok, 5);
  EXPECT_LE(ok, 7);  // the burst, plus what refilled meanwhile
  EXPECT_EQ(ok + limited, 20);
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(proxy.call("echo", 1, "x").ok());  // refilled
  EXPECT_NE(cluster.http_get("/metrics").find(R"(routing_rate_limited_total{system="echo"})"), std::string::npos);
}

TEST(Routerd, SurvivesABackendKilledAndRestartedUnderLoad) {
  Cluster cluster(3);
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] {
      ProxyClient proxy(cluster.address());
      while (!done) (proxy.call("echo", 2, "2:x").ok() ? ok : failed)++;
    });
  }
  std::this_thread::sleep_for(300ms);
  auto port = cluster.echod_port(1);
  cluster.echod(1).signal(SIGKILL);
  std::this_thread::sleep_for(500ms);
  int failed_at_kill = failed;
  cluster.add_echod(port);  // back on the same port
  std::this_thread::sleep_for(700ms);
  done = true;
  for (auto& caller : callers) caller.join();
  EXPECT_LE(failed_at_kill, 4);  // at most the calls in flight on it
  EXPECT_EQ(failed.load(), failed_at_kill);
  EXPECT_GT(ok.load(), 100);
}

TEST(Routerd, SigtermFinishesCallsInFlightThenExits) {
  Cluster cluster(2);
  std::vector<std::future<Reply>> calls;
  for (int i = 0; i < 6; ++i) {
    calls.push_back(std::async(std::launch::async, [&] {
      return route_raw(cluster.address(), R"({"name":"echo","procedure_id":2,"payload":"600:done"})");
    }));
  }
  std::this_thread::sleep_for(200ms);
  cluster.routerd().signal(SIGTERM);
  for (auto& call : calls) {
    Reply reply = call.get();
    EXPECT_EQ(reply.payload, R"({"payload":"done"})");
  }
  EXPECT_EQ(cluster.routerd().wait_exit(10s), 0) << cluster.routerd().log();
  EXPECT_FALSE(RawSocket(cluster.port()).connected());
}

TEST(Routerd, RawSessionsWithMalformedInputGetStatusesAndStayUsable) {
  Cluster cluster(1, {"--max-frame-bytes", "4096"});
  RawSocket raw(cluster.port());
  raw.send("garbage\n:1\n99:{}\n1:{oops\n");
  EXPECT_EQ(raw.read_line()->substr(0, 2), "3:");
  EXPECT_EQ(raw.read_line()->substr(0, 2), "3:");
  EXPECT_EQ(raw.read_line(), "12:unknown procedure 99");
  EXPECT_EQ(raw.read_line()->substr(0, 2), "3:");
  raw.send(R"(1:{"name":"echo","procedure_id":1,"payload":"still fine"})" "\r\n");
  EXPECT_EQ(raw.read_line(), R"(0:{"payload":"still fine"})");
  raw.send("1:" + std::string(5000, 'x') + "\n");
  EXPECT_EQ(raw.read_line(), "3:frame too long");
  EXPECT_TRUE(raw.wait_closed());
}

// CONTRACT section 10: command line > environment > config file > default.
TEST(Routerd, ReadsAConfigFileAndTheEnvironmentInTheirOrder) {
  auto config = temp_file("# routerd\npool-size = 3\nmax-pending = 7 # per system\nstrategy = \"random\"\n"
                          "rate-limit = 1_000.5\n");
  Cluster cluster(1);
  cluster.routerd().signal(SIGKILL);
  cluster.start_routerd({"--config", config, "--max-pending", "9"},
                        {"ROUTERD_STRATEGY=pick-2", "ROUTERD_MAX_PENDING=8"});
  std::filesystem::remove(config);
  ProxyClient proxy(cluster.address());
  ASSERT_TRUE(proxy.call("echo", 1, "x").ok());
  auto status = json::parse(proxy.status().payload);
  auto& system = status.at("systems").as_array().at(0).as_object();
  EXPECT_EQ(system.at("pool_size").as_int64(), 3);          // the file
  EXPECT_EQ(system.at("strategy").as_string(), "pick-2");   // the environment over the file
  EXPECT_EQ(system.at("max_pending").as_int64(), 9);        // the command line over both
  // /config: the settings in force, every one, as TOML.
  auto settings = cluster.http_get("/config");
  EXPECT_NE(settings.find("\npool-size = 3\n"), std::string::npos) << settings;
  EXPECT_NE(settings.find("\nmax-pending = 9\n"), std::string::npos) << settings;
  EXPECT_NE(settings.find("\nstrategy = \"pick-2\"\n"), std::string::npos) << settings;
  EXPECT_NE(settings.find("\nrate-limit = 1000.5\n"), std::string::npos) << settings;
  EXPECT_NE(settings.find("\nrequest-timeout-ms = 5000\n"), std::string::npos) << settings;  // a default
}

TEST(Routerd, MasksSecretsInConfig) {
  Cluster cluster(1, {"--auth-token", "0123456789abcdef-secret"});
  auto settings = cluster.http_get("/config");
  EXPECT_EQ(settings.find("0123456789abcdef-secret"), std::string::npos) << settings;
  EXPECT_NE(settings.find("\n# auth-token = (set, hidden)\n"), std::string::npos) << settings;
}

// What /config shows is a config file routerd takes, giving the same settings.
TEST(Routerd, ConfigPageIsAConfigFileThatReadsBack) {
  Cluster cluster(1, {"--pool-size", "4", "--verify-answers", "off", "--auth-token", "0123456789abcdef-secret"});
  auto page = cluster.http_get("/config");
  auto body = page.substr(page.find("\r\n\r\n") + 4);
  EXPECT_NE(body.find("\nverify-answers = false\n"), std::string::npos) << body;  // "off" as CLI11 read it
  EXPECT_NE(body.find("\n# auth-token-file = (not set)\n"), std::string::npos) << body;
  auto file = temp_file(body);
  auto checked = run_program(ROUTERD_PATH, {"--check-config", "--config", file});
  std::filesystem::remove(file);
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
}

// A typo in the config file is an error naming the file and the line, and
// nothing starts (before: routerd started with the defaults, silently).
TEST(Routerd, RefusesAConfigFileWithATypoNamingFileAndLine) {
  struct Case {
    std::string text;
    std::string expected;  // in the error line, after "FILE:LINE: "
    int line;
  };
  for (const auto& c : std::vector<Case>{
           {"pool-size = 3\nbogus-key = 3\n", "unknown setting 'bogus-key'", 2},
           {"pool_size = 20\n", "unknown setting 'pool_size' (did you mean 'pool-size'?)", 1},
           {"<html>not toml</html>\n", "not a setting: expected name = value", 1},
           {"\n\npool-size = lots\n", "'lots' is not a TOML value", 3},
           {"pool-size = \"lots\"\n", "--pool-size", 1},
           {"[router]\npool-size = 3\n", "tables are not settings", 1},
           {"pool-size = 3\npool-size = 4\n", "'pool-size' is set twice (first on line 1)", 2},
           {"access-log = \"unterminated\n", "a string without its closing quote", 1},
           {"config = \"/etc/other.toml\"\n", "unknown setting 'config'", 1}}) {
    auto config = temp_file(c.text);
    auto result = run_program(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--config", config});
    std::filesystem::remove(config);
    EXPECT_EQ(result.exit_code, 2) << c.text;
    EXPECT_NE(result.err.find(config + ":" + std::to_string(c.line) + ": "), std::string::npos) << result.err;
    EXPECT_NE(result.err.find(c.expected), std::string::npos) << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
}

// `program` reads its settings as routerd does (settings.h): a good file
// passes --check-config; a typo'd key and a bad variable each get exit 2 and
// one line saying where.
void expect_strict_settings(const std::string& program, const std::string& good_text, const std::string& typo_text,
                            const std::string& typo_error, const std::string& bad_variable) {
  auto good = temp_file(good_text);
  auto typo = temp_file(typo_text);
  EXPECT_EQ(run_program(program, {"--check-config", "--config", good}).exit_code, 0) << program;
  auto refused = run_program(program, {"--check-config", "--config", typo});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find(typo + typo_error), std::string::npos) << refused.err;
  auto bad_env = run_program(program, {"--check-config"}, {bad_variable});
  EXPECT_EQ(bad_env.exit_code, 2);
  auto variable = bad_variable.substr(0, bad_variable.find('='));
  EXPECT_NE(bad_env.err.find("environment " + variable + ": "), std::string::npos) << bad_env.err;
  std::filesystem::remove(good);
  std::filesystem::remove(typo);
}

TEST(Echod, ReadsItsConfigFileStrictly) {
  expect_strict_settings(ECHOD_PATH, "name = \"kv\"\nttl-ms = 3000\n", "name = \"kv\"\nttl = 3000\n",
                         ":2: unknown setting 'ttl'", "ECHOD_TTL_MS=0");
}

TEST(Discoveryd, ReadsItsConfigFileStrictly) {
  expect_strict_settings(DISCOVERYD_PATH, "max-names = 500\nlog-format = \"json\"\n", "max_names = 500\n",
                         ":1: unknown setting 'max_names' (did you mean 'max-names'?)", "DISCOVERYD_MAX_NAMES=0");
}

// Log lines carry UTC times with their zone; --log-format json makes each
// line one JSON object (ts, level, program, msg), the message escaped.
TEST(Echod, LogsUtcTimesAndJsonOnRequest) {
  Process text(ECHOD_PATH, {"--listen", "127.0.0.1:0"});
  ASSERT_TRUE(text.wait_listening());
  EXPECT_TRUE(std::regex_search(text.log(), std::regex(R"(^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z info echod: )")))
      << text.log();
  Process structured(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--log-format", "json", "--name", "say \"hi\""});
  ASSERT_TRUE(structured.wait_listening());
  std::istringstream lines(structured.log());
  int parsed = 0;
  bool named = false;
  for (std::string line; std::getline(lines, line);) {
    auto object = json::parse(line).as_object();  // throws (failing the test) if a line is not JSON
    EXPECT_EQ(object.at("program").as_string(), "echod");
    EXPECT_EQ(object.at("ts").as_string().back(), 'Z');
    EXPECT_FALSE(object.at("level").as_string().empty());
    named = named || object.at("msg").as_string() == "serving system 'say \"hi\"'";
    ++parsed;
  }
  EXPECT_GE(parsed, 2);
  EXPECT_TRUE(named) << structured.log();
  // Bytes that are not UTF-8 (a name is anyone's bytes) become U+FFFD: the line stays JSON.
  Process odd(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--log-format", "json", "--name", "bad\xff\xc3name"});
  ASSERT_TRUE(odd.wait_listening());
  std::istringstream odd_lines(odd.log());
  bool replaced = false;
  for (std::string line; std::getline(odd_lines, line);) {
    auto object = json::parse(line).as_object();  // Boost.JSON refuses invalid UTF-8
    replaced = replaced || object.at("msg").as_string() == "serving system 'bad\xef\xbf\xbd\xef\xbf\xbdname'";
  }
  EXPECT_TRUE(replaced) << odd.log();
}

TEST(Routerd, NamesTheVariableOfABadEnvironmentValue) {
  auto result = run_program(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0"},
                            {"ROUTERD_POOL_SIZE=many"});
  EXPECT_EQ(result.exit_code, 2);
  EXPECT_NE(result.err.find("environment ROUTERD_POOL_SIZE: "), std::string::npos) << result.err;
}

// --check-config validates everything and starts nothing: the port it names
// is not taken, and it exits at once.
TEST(Routerd, CheckConfigValidatesAndStartsNothing) {
  auto good = temp_file("pool-size = 3\n");
  auto bad = temp_file("pool-size = 0\n");
  auto ok = run_program(ROUTERD_PATH, {"--check-config", "--config", good, "--listen",
                                       "127.0.0.1:" + std::to_string(free_port())});
  EXPECT_EQ(ok.exit_code, 0) << ok.err;
  EXPECT_EQ(ok.out, "ok\n");
  EXPECT_EQ(ok.err, "");
  auto refused = run_program(ROUTERD_PATH, {"--check-config", "--config", bad});
  EXPECT_EQ(refused.exit_code, 2);
  EXPECT_NE(refused.err.find(bad + ":1: "), std::string::npos) << refused.err;
  auto short_token = run_program(ROUTERD_PATH, {"--check-config", "--auth-token", "short"});
  EXPECT_EQ(short_token.exit_code, 2);  // routerd's own checks run too
  std::filesystem::remove(good);
  std::filesystem::remove(bad);
}

TEST(Routerd, WritesAnAccessLogLinePerCall) {
  auto log = temp_file("");
  Cluster cluster(1, {"--access-log", log});
  ProxyClient proxy(cluster.address());
  proxy.call("echo", 1, "x");
  proxy.call("ghost", 1, "x");
  cluster.routerd().signal(SIGTERM);
  cluster.routerd().wait_exit(10s);
  std::ifstream in(log);
  std::vector<std::string> lines;
  for (std::string line; std::getline(in, line);) lines.push_back(line);
  std::filesystem::remove(log);
  ASSERT_EQ(lines.size(), 2u);
  auto first = json::parse(lines[0]).as_object();
  EXPECT_EQ(first.at("system").as_string(), "echo");
  EXPECT_EQ(first.at("status").as_int64(), 0);
  EXPECT_EQ(first.at("by").as_string(), "backend");
  EXPECT_EQ(json::parse(lines[1]).at("status").as_int64(), 5);
}

// CONTRACT section 8 through routerd: tagged ROUTE calls of one client
// connection run concurrently and are answered as each finishes; a
// caller's deadline-ms bounds the call; request-id and the trace id reach
// the access log.
std::string tagged_route(std::uint64_t id, const std::string& args, rpc::FrameKeysView keys = {}) {
  return rpc::encode_tagged_frame(1, id, args, keys);
}

TEST(Routerd, AnswersTaggedRoutesOfOneConnectionAsEachFinishes) {
  auto log = temp_file("");
  Cluster cluster(1, {"--access-log", log});
  RawSocket s(cluster.port());
  const std::string traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  s.send(tagged_route(1, R"({"name":"echo","procedure_id":2,"payload":"400:slow"})") +
         tagged_route(2, R"({"name":"echo","procedure_id":1,"payload":"fast"})",
                      {.traceparent = traceparent, .request_id = "req-42"}));
  EXPECT_EQ(s.read_line(), R"(0#2:{"payload":"fast"})");
  EXPECT_EQ(s.read_line(), R"(0#1:{"payload":"slow"})");
  // The caller's deadline is shorter than the call: status 4, long before
  // the backend would have answered.
  s.send(tagged_route(3, R"({"name":"echo","procedure_id":2,"payload":"5000:late"})", {.deadline_ms = 200}) +
         tagged_route(4, R"({"name":"echo","procedure_id":1,"payload":"after"})"));
  EXPECT_EQ(s.read_line(), R"(0#4:{"payload":"after"})");
  auto late = s.read_line();
  ASSERT_TRUE(late);
  EXPECT_EQ(late->rfind("4#3:", 0), 0u) << *late;
  cluster.routerd().signal(SIGTERM);
  cluster.routerd().wait_exit(10s);
  auto lines = access_lines(log);
  std::filesystem::remove(log);
  ASSERT_GE(lines.size(), 3u);
  bool found = false;
  for (const auto& line : lines) {
    if (!line.contains("call_id") || line.at("call_id").as_int64() != 2) continue;
    found = true;
    EXPECT_EQ(line.at("request_id").as_string(), "req-42");
    EXPECT_EQ(line.at("trace_id").as_string(), "0af7651916cd43dd8448eb211c80319c");
  }
  EXPECT_TRUE(found);
}

// A caller's far deadline never lengthens routerd's own request timeout:
// the shorter of the two bounds the call.
TEST(Routerd, ATaggedRoutesFarDeadlineKeepsTheRoutersTimeout) {
  Cluster cluster(1, {"--request-timeout-ms", "300"});
  RawSocket s(cluster.port());
  s.send(tagged_route(5, R"({"name":"echo","procedure_id":2,"payload":"2000:slow"})", {.deadline_ms = 60000}));
  auto answer = s.read_line();
  ASSERT_TRUE(answer);
  EXPECT_EQ(answer->rfind("4#5:", 0), 0u) << *answer;
}

TEST(Routerd, ATaggedRouteWhoseClientCancelsIsGivenUp) {
  Cluster cluster(1, {"--pool-size", "1"});
  RawSocket s(cluster.port());
  s.send(tagged_route(7, R"({"name":"echo","procedure_id":2,"payload":"5000:never"})"));
  std::this_thread::sleep_for(100ms);  // the call is with the backend
  s.send("0#8;cancel=7:\n");
  EXPECT_EQ(s.read_line(), "1#7:cancelled");
  EXPECT_EQ(s.read_line(), "0#8:pong");
  // The system's slot came back: a pool of one still serves.
  s.send(tagged_route(9, R"({"name":"echo","procedure_id":1,"payload":"next"})"));
  EXPECT_EQ(s.read_line(), R"(0#9:{"payload":"next"})");
}

TEST(Routerd, RejectsBadFlagsWithOneLine) {
  for (auto args : std::vector<std::vector<std::string>>{
           {"--pool-size", "0"}, {"--pool-size", "automatic"}, {"--pool-size", "12x"}, {"--max-pool-size", "0"},
           {"--slow-start-ms", "-5"}, {"--strategy", "best"}, {"--discovery", "zk://x:1"}, {"--admin", "nowhere"},
           {"--rate-limit", "-1"}, {"--rate-limit", "nan"}, {"--auth-failure-rate", "inf"},
           {"--auth-token-file", "/nonexistent"}, {"--config", "/nonexistent"}}) {
    auto result = run_program(ROUTERD_PATH, args);
    EXPECT_EQ(result.exit_code, 2) << args[0] << " " << result.err;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
}

// Issue 20, finding 1: a burst of made-up names (ROUTE needs no credentials
// by default). Each is asked of discovery once and remembered as unknown: no
// system and no watch is left (discoveryd's descriptors stay put), memory and
// /metrics stay small, and calls to a real system keep their deadline
// meanwhile. ROUTING_BURST_NAMES sets the count (the note's 100 000 run).
TEST(Routerd, ABurstOfMadeUpNamesLeavesNoWatchAndLittleState) {
  const char* configured = std::getenv("ROUTING_BURST_NAMES");
  const int names = configured ? std::atoi(configured) : 20000;
  constexpr int connections = 4;
  Cluster cluster(1);
  ProxyClient proxy(cluster.address());
  ASSERT_TRUE(proxy.call("echo", 1, "warm").ok());
  std::this_thread::sleep_for(200ms);
  const auto kib_before = resident_kib(cluster.routerd().pid());
  const auto discoveryd_fds_before = open_fds(cluster.discoveryd().pid());

  std::atomic<bool> bursting{true};
  std::atomic<int> known_failed{0};
  std::atomic<std::int64_t> known_worst_us{0};
  std::thread known([&] {
    ProxyClient client(cluster.address());
    while (bursting) {
      auto start = std::chrono::steady_clock::now();
      Reply reply = client.call("echo", 1, "known", CallOptions{.timeout = 500ms});
      auto took = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - start);
      known_failed += !reply.ok();
      known_worst_us = std::max<std::int64_t>(known_worst_us, took.count());
    }
  });
  auto started = std::chrono::steady_clock::now();
  std::vector<std::future<int>> answered;
  for (int c = 0; c < connections; ++c) {
    answered.push_back(std::async(std::launch::async, [&, c] {
      RawSocket raw(cluster.port(), 60s);
      std::string frames;
      for (int i = c; i < names; i += connections) {
        frames += R"(1:{"name":"made-up-)" + std::to_string(i) + R"(","procedure_id":1,"payload":"x"})" "\n";
      }
      std::thread sender([&] { raw.send(frames); });
      int not_found = 0;
      for (int i = c; i < names; i += connections) {
        auto line = raw.read_line();
        if (!line) break;
        not_found += line->rfind("5:", 0) == 0;
      }
      sender.join();
      return not_found;
    }));
  }
  int not_found = 0;
  for (auto& each : answered) not_found += each.get();
  auto took = std::chrono::steady_clock::now() - started;
  bursting = false;
  known.join();

  auto kib_after = resident_kib(cluster.routerd().pid());
  auto metrics = cluster.http_get("/metrics");
  auto status = cluster.http_get("/status");
  std::printf("%d made-up names in %.2f s: routerd resident %zu -> %zu KiB, discoveryd descriptors %zu -> %zu, "
              "/metrics %zu bytes, /status %zu bytes, worst known call %.1f ms\n",
              names, std::chrono::duration<double>(took).count(), kib_before, kib_after, discoveryd_fds_before,
              open_fds(cluster.discoveryd().pid()), metrics.size(), status.size(), known_worst_us / 1000.0);
  EXPECT_EQ(not_found, names);
  EXPECT_EQ(known_failed, 0);
  EXPECT_LT(known_worst_us, 600'000);  // within the deadline + 100 ms
  EXPECT_LE(open_fds(cluster.discoveryd().pid()), discoveryd_fds_before + 4);  // no watch per name
  EXPECT_LT(metrics.size(), 64u * 1024);
  EXPECT_NE(metrics.find("routing_unknown_names "), std::string::npos);
  EXPECT_LT(status.size(), 64u * 1024);
  if (!under_sanitizer) {
    EXPECT_LT(kib_after, kib_before + 32 * 1024);
  }
}

}  // namespace
}  // namespace routing::test
