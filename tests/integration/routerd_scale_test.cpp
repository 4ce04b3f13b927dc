// routerd at scale: many client connections, idle and busy. Bounded in time;
// loopback only.
#include "support/process.h"
#include "support/raw_socket.h"

#include <gtest/gtest.h>

#include <fstream>
#include <regex>
#include <sys/resource.h>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

std::size_t resident_kib(pid_t pid) {
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(status, line)) {
    if (line.rfind("VmRSS:", 0) == 0) return std::stoul(line.substr(6));
  }
  return 0;
}

// Lets this process open `wanted` descriptors; false if the hard limit forbids it.
bool allow_open_files(rlim_t wanted) {
  rlimit limit{};
  ::getrlimit(RLIMIT_NOFILE, &limit);
  if (limit.rlim_cur >= wanted) return true;
  if (limit.rlim_max < wanted) return false;
  limit.rlim_cur = wanted;
  return ::setrlimit(RLIMIT_NOFILE, &limit) == 0;
}

// echod, and routerd routing "echo" to it with `flags`.
struct Proxy {
  explicit Proxy(std::vector<std::string> flags = {}) {
    echod = std::make_unique<Process>(ECHOD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0"});
    auto echod_port = echod->wait_listening().value_or(0);
    std::vector<std::string> args{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                                  "--discovery", "static://echo=127.0.0.1:" + std::to_string(echod_port),
                                  "--health-check-interval-ms", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    routerd = std::make_unique<Process>(ROUTERD_PATH, args);
    port = routerd->wait_listening().value_or(0);
    EXPECT_NE(port, 0) << routerd->log();
  }
  std::unique_ptr<Process> echod, routerd;
  std::uint16_t port = 0;
};

const std::string route_echo = R"(1:{"name":"echo","procedure_id":1,"payload":"hi"})" "\n";

TEST(RouterdScale, AThousandIdleClientConnectionsStayUnder64MiB) {
  ASSERT_TRUE(allow_open_files(1000 + 256));
  Proxy proxy;
  std::vector<RawSocket> clients;
  for (int i = 0; i < 1000; ++i) {
    clients.emplace_back(proxy.port);
    ASSERT_TRUE(clients.back().connected());
  }
  // Every one is accepted and answers (then idles again).
  for (auto& client : clients) client.send("0:\n");
  for (auto& client : clients) ASSERT_EQ(client.read_line().value_or("(none)"), "0:pong");
  auto kib = resident_kib(proxy.routerd->pid());
  std::printf("routerd resident memory with 1000 idle client connections: %.1f MiB\n", kib / 1024.0);
  EXPECT_GT(kib, 0u);
#if defined(__SANITIZE_ADDRESS__) || defined(__SANITIZE_THREAD__)
  GTEST_SKIP() << "a sanitizer's shadow memory makes the resident size meaningless";
#endif
  EXPECT_LT(kib, 64u * 1024);
}

TEST(RouterdScale, TenThousandConcurrentClientConnectionsAreAllServed) {
  constexpr int count = 10000;
  ASSERT_TRUE(allow_open_files(count + 256)) << "the hard open-files limit is below " << count + 256;
  // Room for every call at once: this tests connections, not back-pressure.
  Proxy proxy({"--max-connections", "12000", "--pool-size", "64", "--max-pending", "20000"});
  std::vector<RawSocket> clients;
  clients.reserve(count);
  for (int i = 0; i < count; ++i) {
    clients.emplace_back(proxy.port, 30s);
    ASSERT_TRUE(clients.back().connected()) << "connection " << i;
  }
  for (auto& client : clients) client.send(route_echo);
  int ok = 0;
  for (auto& client : clients) {
    auto line = client.read_line();
    ok += line && *line == R"(0:{"payload":"hi"})";
  }
  EXPECT_EQ(ok, count);
  EXPECT_EQ(proxy.routerd->log().find("accept failed"), std::string::npos) << proxy.routerd->log();
}

}  // namespace
}  // namespace routing::test
