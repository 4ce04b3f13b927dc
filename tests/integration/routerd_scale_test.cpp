// routerd at scale: many client connections, idle and busy. Bounded in time;
// loopback only.
#include "support/proc_stats.h"
#include "support/process.h"
#include "support/raw_socket.h"
#include "support/static_proxy.h"

#include <gtest/gtest.h>


namespace routing::test {
namespace {

using namespace std::chrono_literals;

const std::string route_echo = R"(1:{"name":"echo","procedure_id":1,"payload":"hi"})" "\n";

TEST(RouterdScale, AThousandIdleClientConnectionsStayUnder64MiB) {
  ASSERT_TRUE(allow_open_files(1000 + 256));
  StaticProxy proxy;
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
  if (under_sanitizer) GTEST_SKIP() << "a sanitizer's shadow memory makes the resident size meaningless";
  EXPECT_LT(kib, 64u * 1024);
}

TEST(RouterdScale, TenThousandConcurrentClientConnectionsAreAllServed) {
  constexpr int count = 10000;
  ASSERT_TRUE(allow_open_files(count + 256)) << "the hard open-files limit is below " << count + 256;
  // Room for every call at once: this tests connections, not back-pressure.
  StaticProxy proxy({"--max-connections", "12000", "--pool-size", "64", "--max-pending", "20000"});
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
