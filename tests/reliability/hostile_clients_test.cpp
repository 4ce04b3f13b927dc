// Hostile clients against routerd while a well-behaved client keeps calling
// (CONTRACT §1 limits; docs/reliability.md). Each test: a fresh echod and
// routerd, a LoadProbe of polite calls through a ProxyClient during the
// attack, then checks that the polite calls were all answered correctly within
// their deadline, that routerd bounded what the attacker could make it hold,
// and that it let go of everything afterwards.
#include <routing/proxy_client.h>

#include "support/eventually.h"
#include "support/load_probe.h"
#include "support/proc_stats.h"
#include "support/raw_socket.h"
#include "support/static_proxy.h"

#include <gtest/gtest.h>

#include <optional>
#include <random>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr auto polite_deadline = 1000ms;

ProxyClientOptions options_for(const StaticProxy& proxy) {
  ProxyClientOptions options;
  options.address = proxy.address();
  options.connections = 2;  // one per polite thread
  return options;
}

// Polite calls through routerd from two threads, and what routerd held before.
class PoliteLoad {
 public:
  explicit PoliteLoad(StaticProxy& proxy)
      : proxy_(proxy),
        client_(options_for(proxy)),
        started_(Clock::now()),
        probe_([this](const std::string& payload,
                      std::chrono::milliseconds deadline) { return client_.call("echo", 1, payload, {.timeout = deadline}); },
               2, polite_deadline) {
    // The baseline includes the probe's own connections, once they are open.
    std::this_thread::sleep_for(300ms);
    fds_before_ = open_fds(proxy.routerd->pid());
  }

  // Stops the load and checks every polite call: answered, correct, in time.
  void expect_all_served(const char* attack) {
    probe_.stop();
    auto s = probe_.summary(started_);
    std::printf("%s: polite calls meanwhile: %s\n", attack, s.describe().c_str());
    EXPECT_GT(s.calls, 10u) << attack;
    EXPECT_EQ(s.correct, s.calls) << attack << ": " << s.describe();
    EXPECT_LT(s.worst_overshoot, 100ms) << attack;
    EXPECT_FALSE(proxy_.routerd->wait_exit(0ms)) << "routerd exited: " << proxy_.routerd->log();
  }

  // routerd closed every connection the attack opened (the probe's stay).
  void expect_fds_back() {
    pid_t pid = proxy_.routerd->pid();
    EXPECT_TRUE(eventually([&] { return open_fds(pid) <= fds_before_ + 2; }, 10s))
        << "routerd holds " << open_fds(pid) << " descriptors, " << fds_before_ << " before the attack";
  }

 private:
  StaticProxy& proxy_;
  ProxyClient client_;
  Clock::time_point started_;
  std::size_t fds_before_ = 0;
  LoadProbe probe_;
};

std::string route_frame(const std::string& payload) {
  return R"(1:{"name":"echo","procedure_id":1,"payload":")" + payload + "\"}\n";
}

TEST(HostileClients, SlowlorisConnectionsAreCutByTheFrameTimeLimit) {
  StaticProxy proxy({"--frame-timeout-ms", "1500"});
  PoliteLoad polite(proxy);
  std::vector<RawSocket> slow;
  for (int i = 0; i < 200; ++i) slow.emplace_back(proxy.port, 100ms);
  const std::string frame = route_frame("never finished");
  // One byte a second on every connection until routerd cuts them (at 1.5 s).
  for (std::size_t byte = 0; byte < 2; ++byte) {
    for (auto& s : slow) s.send_within(frame.substr(byte, 1), 10ms);
    std::this_thread::sleep_for(1s);
  }
  std::this_thread::sleep_for(1500ms);
  std::size_t told = 0, closed = 0;
  for (auto& s : slow) {
    auto line = s.read_line();
    told += line && *line == "4:frame not completed within 1500 ms";
    closed += s.wait_closed();
  }
  EXPECT_EQ(told, slow.size());
  EXPECT_EQ(closed, slow.size());
  polite.expect_all_served("slowloris (200 connections, one byte a second)");
  polite.expect_fds_back();
}

TEST(HostileClients, TenThousandSilentConnectionsDoNotLockOutCallers) {
  constexpr int count = 10000;
  ASSERT_TRUE(allow_open_files(count + 512)) << "the hard open-files limit is below " << count + 512;
  // The default --max-connections (10000): the attacker alone could fill it.
  StaticProxy proxy({"--idle-timeout-ms", "3000"});
  auto kib_before = resident_kib(proxy.routerd->pid());
  PoliteLoad polite(proxy);
  std::vector<RawSocket> silent;
  silent.reserve(count);
  for (int i = 0; i < count; ++i) {
    silent.emplace_back(proxy.port, 10s);
    ASSERT_TRUE(silent.back().connected()) << "connection " << i;
  }
  auto kib_during = resident_kib(proxy.routerd->pid());
  std::printf("routerd resident memory: %zu KiB before, %zu KiB with %d silent connections\n", kib_before,
              kib_during, count);
  std::this_thread::sleep_for(1500ms);
  // A client arriving while the attacker holds every slot still gets in: the
  // quietest silent connection makes room for it.
  RawSocket newcomer(proxy.port);
  newcomer.send(route_frame("newcomer"));
  EXPECT_EQ(newcomer.read_line(), R"(0:{"payload":"newcomer"})");
  polite.expect_all_served("10 000 connections that never send");
  // The idle timeout reclaims them all.
  polite.expect_fds_back();
}

TEST(HostileClients, GarbageGetsStatusAnswersAndNoHarm) {
  StaticProxy proxy;
  PoliteLoad polite(proxy);
  std::mt19937 rng(20261127);
  std::vector<RawSocket> garbage;
  for (int i = 0; i < 20; ++i) {
    garbage.emplace_back(proxy.port, 2s);
    std::string bytes(64 * 1024, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng() % 8 == 0 ? '\n' : rng() % 256);
    garbage.back().send_within(bytes, 2s);
    garbage.back().shutdown_write();
  }
  std::size_t answers = 0, bad = 0;
  for (auto& g : garbage) {
    while (auto line = g.read_line()) {
      ++answers;
      // Every answer is a well-formed response frame: digits, ':', payload.
      auto colon = line->find(':');
      bad += colon == 0 || colon == std::string::npos ||
             line->find_first_not_of("0123456789") != colon;
    }
  }
  std::printf("garbage: %zu answers to 20 x 64 KiB of random bytes\n", answers);
  EXPECT_GT(answers, 20u * 1000u);
  EXPECT_EQ(bad, 0u);
  polite.expect_all_served("random garbage");
  polite.expect_fds_back();
}

TEST(HostileClients, FramesAtTheSizeLimitPassAndOneByteMoreIsRefused) {
  constexpr std::size_t limit = 4096;
  StaticProxy proxy({"--max-frame-bytes", std::to_string(limit)});
  PoliteLoad polite(proxy);
  std::string frame = route_frame("");
  std::string payload(limit - (frame.size() - 1), 'x');  // the line without '\n'
  std::string at_limit = route_frame(payload);
  ASSERT_EQ(at_limit.size() - 1, limit);
  RawSocket client(proxy.port);
  client.send(at_limit);
  EXPECT_EQ(client.read_line(), R"(0:{"payload":")" + payload + "\"}");
  client.send(route_frame(payload + "x"));
  EXPECT_EQ(client.read_line(), "3:frame too long");
  EXPECT_TRUE(client.wait_closed());
  polite.expect_all_served("frames at the size limit and one byte over");
}

TEST(HostileClients, APipelinerThatNeverReadsIsHeldToBoundedBuffers) {
  StaticProxy proxy;
  auto kib_before = resident_kib(proxy.routerd->pid());
  PoliteLoad polite(proxy);
  // 300-byte payloads: the answers (~30 MB) outgrow every buffer on the way
  // (routerd's 4 MiB of queued answers, and the kernel's socket buffers).
  std::string requests;
  for (int i = 0; i < 100000; ++i) requests += route_frame(std::to_string(i) + std::string(300, '.'));
  std::optional<RawSocket> pipeliner(std::in_place, proxy.port);
  std::size_t sent = pipeliner->send_within(requests, 5s);
  auto kib_during = resident_kib(proxy.routerd->pid());
  std::printf("pipeliner: routerd took %zu of %zu bytes (100 000 requests) in 5 s; resident %zu -> %zu KiB\n", sent,
              requests.size(), kib_before, kib_during);
  // routerd stopped reading: the rest of the requests never left the client.
  EXPECT_LT(sent, requests.size());
  if (!under_sanitizer) {
    EXPECT_LT(kib_during, kib_before + 32 * 1024);
  }
  polite.expect_all_served("a client pipelining 100 000 requests and never reading");
  pipeliner.reset();  // closes the connection
  polite.expect_fds_back();
}

std::string slow_route_frame(int sleep_ms, long timeout_ms) {
  return R"(1:{"name":"echo","procedure_id":2,"payload":")" + std::to_string(sleep_ms) +
         R"(:slow","timeout_ms":)" + std::to_string(timeout_ms) + "}\n";
}

// Issue 20, finding 2: 1 010 clients each send a call that would hold a slot
// for an hour, and hang up at once. Their calls are given up as they go: the
// ten in flight free their slots (routerd closes those backend connections),
// the thousand queued leave the queue, and polite calls get through.
TEST(HostileClients, ClientsThatHangUpGiveTheirCallsUp) {
  StaticProxy proxy;  // defaults: pool 10, max pending 1000
  {
    std::vector<RawSocket> leaving;
    for (int i = 0; i < 1010; ++i) {
      leaving.emplace_back(proxy.port, 2s);
      leaving.back().send(slow_route_frame(3'600'000, 3'600'000));
    }
    std::this_thread::sleep_for(300ms);  // routerd has read them: the calls wait (or are in flight)
  }  // every client hangs up
  PoliteLoad polite(proxy);
  std::this_thread::sleep_for(1s);
  polite.expect_all_served("1 010 clients holding hour-long calls hung up");
  polite.expect_fds_back();
}

// A client that closes its sending side before its answer is taken to have
// left (as HAProxy's abortonclose): its call ends with status 1, which is
// still written to it.
TEST(HostileClients, AHalfClosedClientsCallIsCancelledAndTold) {
  StaticProxy proxy;
  RawSocket client(proxy.port, 5s);
  client.send(slow_route_frame(3000, 10000));
  std::this_thread::sleep_for(200ms);
  auto start = Clock::now();
  client.shutdown_write();
  auto line = client.read_line();
  ASSERT_TRUE(line);
  EXPECT_EQ(line->substr(0, 2), "1:") << *line;
  EXPECT_NE(line->find("went away"), std::string::npos) << *line;
  EXPECT_LT(Clock::now() - start, 2s);  // not after the backend's 3 s
  EXPECT_TRUE(client.wait_closed());
}

// --max-request-timeout-ms caps what a client may ask for.
TEST(HostileClients, ClientDeadlinesAreCappedByTheMaxRequestTimeout) {
  StaticProxy proxy({"--max-request-timeout-ms", "300", "--request-timeout-ms", "200"});
  RawSocket client(proxy.port, 5s);
  auto start = Clock::now();
  client.send(slow_route_frame(3000, 3'600'000));
  auto line = client.read_line();
  auto took = Clock::now() - start;
  ASSERT_TRUE(line);
  EXPECT_EQ(line->substr(0, 2), "4:") << *line;
  EXPECT_GE(took, 290ms);
  EXPECT_LT(took, 2500ms);  // far below the backend's 3 s: the cap, not the backend, ended it
}

}  // namespace
}  // namespace routing::test
