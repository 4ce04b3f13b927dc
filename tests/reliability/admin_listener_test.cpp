// routerd's admin HTTP listener against hostile clients (issue 20, finding
// 6): 11,000 idle admin connections stopped the main port from accepting,
// and on EMFILE the admin accept loop spun at 100% CPU. Now the listener has
// a connection limit (--admin-max-connections) and every accept loop pauses
// after a failed accept (rpc/accept_backoff.h).
#include "support/eventually.h"
#include "support/proc_stats.h"
#include "support/raw_socket.h"
#include "support/static_proxy.h"

#include <gtest/gtest.h>

#include <regex>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

std::uint16_t admin_port(Process& routerd) {
  EXPECT_TRUE(routerd.wait_for_log(R"(admin endpoint on http://127\.0\.0\.1:\d+)"));
  std::smatch match;
  std::string log = routerd.log();
  if (!std::regex_search(log, match, std::regex(R"(admin endpoint on http://127\.0\.0\.1:(\d+))"))) return 0;
  return static_cast<std::uint16_t>(std::stoul(match[1]));
}

std::string http_get(std::uint16_t port, const std::string& path) {
  RawSocket http(port, 5s);
  http.send("GET " + path + " HTTP/1.0\r\n\r\n");
  return http.read_all();
}

bool pings(std::uint16_t port) {
  RawSocket client(port, 5s);
  client.send("0:\n");
  return client.read_line().value_or("") == "0:pong";
}

// One keep-alive request on `http`; true once its answer has been read.
bool keep_alive_healthz(RawSocket& http) {
  http.send("GET /healthz HTTP/1.1\r\nHost: admin\r\n\r\n");
  while (auto line = http.read_line()) {
    if (*line == "ok") return true;
  }
  return false;
}

TEST(AdminListener, ConnectionsOverTheLimitAreRefusedWhileTheMainPortServes) {
  StaticProxy proxy({"--admin-max-connections", "4"});
  const std::uint16_t admin = admin_port(*proxy.routerd);
  ASSERT_NE(admin, 0) << proxy.routerd->log();
  std::vector<RawSocket> busy;
  for (int i = 0; i < 4; ++i) busy.emplace_back(admin, 5s);
  // Each has just been served (so none is idle enough to be replaced):
  // the fifth is told why and closed at once.
  for (auto& http : busy) ASSERT_TRUE(keep_alive_healthz(http));
  std::string refused = http_get(admin, "/metrics");
  EXPECT_NE(refused.find("503"), std::string::npos) << refused;
  EXPECT_NE(refused.find("too many admin connections"), std::string::npos) << refused;
  EXPECT_TRUE(pings(proxy.port));
  for (auto& http : busy) EXPECT_TRUE(keep_alive_healthz(http)) << "the four are served on";
  busy.clear();
  std::string metrics;
  ASSERT_TRUE(eventually([&] {
    metrics = http_get(admin, "/metrics");
    return metrics.find("200 OK") != std::string::npos;
  }));
  EXPECT_NE(metrics.find("routerd_admin_connections_rejected_total 1"), std::string::npos) << metrics;
}

// Idle connections at the limit cannot keep a scrape out: the one waiting
// longest (at least a second) for its next request makes room.
TEST(AdminListener, AtTheLimitANewcomerReplacesAnIdleConnection) {
  StaticProxy proxy({"--admin-max-connections", "4"});
  const std::uint16_t admin = admin_port(*proxy.routerd);
  ASSERT_NE(admin, 0) << proxy.routerd->log();
  std::vector<RawSocket> idle;
  for (int i = 0; i < 4; ++i) idle.emplace_back(admin, 5s);
  std::string metrics;
  ASSERT_TRUE(eventually([&] {
    metrics = http_get(admin, "/metrics");
    return metrics.find("200 OK") != std::string::npos;
  }, 5s)) << metrics;
  EXPECT_NE(metrics.find("routerd_admin_connections_evicted_total "), std::string::npos) << metrics;
  EXPECT_EQ(metrics.find("routerd_admin_connections_evicted_total 0"), std::string::npos) << metrics;
}

TEST(AdminListener, ThousandsOfIdleAdminConnectionsHoldOnlyTheLimit) {
  StaticProxy proxy;  // the default limit, 64
  const std::uint16_t admin = admin_port(*proxy.routerd);
  ASSERT_NE(admin, 0) << proxy.routerd->log();
  const pid_t pid = proxy.routerd->pid();
  const std::size_t baseline = open_fds(pid);
  std::vector<RawSocket> idle;
  for (int i = 0; i < 2000; ++i) idle.emplace_back(admin, 5s);
  ASSERT_TRUE(eventually([&] { return open_fds(pid) >= baseline + 64; }));
  EXPECT_TRUE(pings(proxy.port));
  // Refused ones are closed at once: routerd holds the limit and no more.
  EXPECT_LE(open_fds(pid), baseline + 64 + 4);
}

// routerd limited to 64 descriptors, all taken by clients of the main port;
// then a client knocks on the admin port. Before: the admin accept loop
// retried EMFILE at once, forever (a core at 100%). Now both listeners pause
// 50 ms doubling to 1 s, so routerd uses next to no CPU until descriptors free up.
TEST(AdminListener, AcceptingOnEmfileDoesNotSpin) {
  if (under_sanitizer) {
    // UBSan checks a virtual call's object by reading its vtable through a
    // pipe: in a process out of descriptors that fails, and it reports the
    // first virtual call as a bad object (found under scripts/sanitize.sh).
    GTEST_SKIP() << "a process out of descriptors cannot run UBSan's checks";
  }
  constexpr int descriptor_limit = 64;
  auto echod = std::make_unique<Process>(ECHOD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0"});
  auto echod_port = echod->wait_listening().value_or(0);
  Process routerd("/usr/bin/prlimit",
                  {"--nofile=" + std::to_string(descriptor_limit), ROUTERD_PATH, "--listen", "127.0.0.1:0", "--admin",
                   "127.0.0.1:0", "--discovery", "static://echo=127.0.0.1:" + std::to_string(echod_port),
                   "--health-check-interval-ms", "0"});
  auto port = routerd.wait_listening().value_or(0);
  ASSERT_NE(port, 0) << routerd.log();
  const std::uint16_t admin = admin_port(routerd);
  const pid_t pid = routerd.pid();

  std::vector<RawSocket> clients;
  for (int i = 0; i < descriptor_limit + 20; ++i) clients.emplace_back(port, 2s);  // the rest wait in the backlog
  ASSERT_TRUE(eventually([&] { return open_fds(pid) >= descriptor_limit; })) << open_fds(pid);
  RawSocket knocking(admin, 2s);  // in the backlog at once: every accept of it fails from now on

  auto before = cpu_time(pid);
  std::this_thread::sleep_for(1s);  // a measuring window, not a wait for a condition
  auto used = cpu_time(pid) - before;
  EXPECT_LT(used, 250ms) << "routerd used " << used.count() << " ms of CPU in 1 s while out of descriptors";
  EXPECT_TRUE(routerd.wait_for_log("admin listener: accept failed", 1s)) << routerd.log();

  clients.clear();  // descriptors free up: both listeners accept again
  EXPECT_TRUE(eventually([&] { return pings(port); }, 5s));
  std::string metrics = http_get(admin, "/metrics");
  std::smatch match;
  ASSERT_TRUE(std::regex_search(metrics, match, std::regex(R"(routerd_accept_errors_total\{listener="admin"\} (\d+))")))
      << metrics;
  EXPECT_GT(std::stoul(match[1]), 0u);
  // A pause per failure, at least 25 ms each: no more than ~40 a second.
  EXPECT_LT(std::stoul(match[1]), 200u);
}

}  // namespace
}  // namespace routing::test
