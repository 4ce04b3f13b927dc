// routerd to its backends over tagged frames (CONTRACT §8), at its default
// flags: the trace context (as a child of routerd's span), the request id
// and the remaining deadline reach the backend; calls share backend
// connections; an echod that speaks only the line protocol is served as before.
#include "common/trace_context.h"
#include "rpc/codec.h"
#include "support/process.h"
#include "support/raw_socket.h"
#include "support/test_backend.h"
#include "support/test_server.h"

#include <routing/proxy_client.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json/parse.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <thread>
#include <fstream>
#include <optional>
#include <regex>
#include <unistd.h>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

// routerd at its defaults (admin on a free port; health checks off, so that only calls open
// backend connections), finding "echo" at `backend_port`.
Process start_routerd(std::uint16_t backend_port) {
  return Process(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery",
                                "static://echo=127.0.0.1:" + std::to_string(backend_port),
                                "--health-check-interval-ms", "0"});
}

std::string tagged_route(std::uint64_t id, const std::string& args, rpc::FrameKeysView keys = {}) {
  return rpc::encode_tagged_frame(1, id, args, keys);
}

TEST(RouterdTagged, PassesTheTraceAsAChildTheRequestIdAndTheDeadline) {
  auto backend = start_test_server();
  auto routerd = start_routerd(backend->local_endpoint().port());
  auto port = routerd.wait_listening();
  ASSERT_TRUE(port) << routerd.log();
  RawSocket s(*port);
  const std::string trace_id = "0af7651916cd43dd8448eb211c80319c";
  const std::string traceparent = "00-" + trace_id + "-b7ad6b7169203331-01";
  s.send(tagged_route(1, R"({"name":"echo","procedure_id":45,"payload":""})",
                      {.deadline_ms = 3000, .traceparent = traceparent, .request_id = "req-9"}));
  auto answer = s.read_line();
  ASSERT_TRUE(answer);
  std::smatch m;
  ASSERT_TRUE(std::regex_search(*answer, m,
                                std::regex(R"re(^0#1:\{"payload":"deadline-ms=(\d+) traceparent=(\S+) request-id=(\S+)"\}$)re")))
      << *answer;
  EXPECT_LE(std::stoi(m[1]), 3000);
  EXPECT_GT(std::stoi(m[1]), 2000);
  const std::string sent = m[2];
  EXPECT_TRUE(common::parse_traceparent(sent)) << sent;
  EXPECT_NE(sent.find(trace_id), std::string::npos) << sent;  // the caller's trace ...
  EXPECT_EQ(sent.find("b7ad6b7169203331"), std::string::npos) << sent;  // ... under routerd's span
  EXPECT_EQ(m[3], "req-9");
}

TEST(RouterdTagged, CallsInFlightShareABackendConnection) {
  TestBackend backend;
  auto routerd = start_routerd(backend.port());
  auto port = routerd.wait_listening();
  ASSERT_TRUE(port) << routerd.log();
  RawSocket s(*port);
  s.send(tagged_route(1, R"({"name":"echo","procedure_id":1,"payload":"warm"})"));
  ASSERT_EQ(s.read_line(), R"(0#1:{"payload":"warm"})");
  std::string calls;
  for (int id = 2; id < 10; ++id) {
    calls += tagged_route(id, R"({"name":"echo","procedure_id":42,"payload":"300:x"})");
  }
  s.send(calls);
  for (int i = 0; i < 8; ++i) {
    auto line = s.read_line();
    ASSERT_TRUE(line);
    EXPECT_NE(line->find(R"(:{"payload":"x"})"), std::string::npos) << *line;
  }
  EXPECT_EQ(backend.max_in_flight(), 8u);
  EXPECT_EQ(backend.accepted(), 1u);  // eight calls at once on routerd's one connection
}

TEST(RouterdTagged, AnEchodThatSpeaksOnlyTheLineProtocolIsServedAsBefore) {
  Process echod(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--line-protocol-only"});
  auto echod_port = echod.wait_listening();
  ASSERT_TRUE(echod_port) << echod.log();
  {
    RawSocket direct(*echod_port);
    direct.send("1#1:tagged\n1:plain\n");
    auto refused = direct.read_line();
    ASSERT_TRUE(refused);
    EXPECT_EQ(refused->rfind("3:", 0), 0u) << *refused;  // as a version-1 server
    EXPECT_EQ(direct.read_line(), "0:plain");
  }
  auto routerd = start_routerd(*echod_port);
  auto port = routerd.wait_listening();
  ASSERT_TRUE(port) << routerd.log();
  RawSocket s(*port);
  s.send(tagged_route(1, R"({"name":"echo","procedure_id":2,"payload":"300:slow"})") +
         tagged_route(2, R"({"name":"echo","procedure_id":1,"payload":"fast"})"));
  EXPECT_EQ(s.read_line(), R"(0#2:{"payload":"fast"})");
  EXPECT_EQ(s.read_line(), R"(0#1:{"payload":"slow"})");
}

// The spans of one trace in a --trace-log file (every span: an empty id).
std::vector<boost::json::object> spans_of(const std::string& path, const std::string& trace_id) {
  std::vector<boost::json::object> spans;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    auto span = boost::json::parse(line).as_object();
    if (trace_id.empty() || span.at("trace_id").as_string() == trace_id) spans.push_back(span);
  }
  return spans;
}

std::string field(const boost::json::object& span, const char* name) {
  return std::string(span.at(name).as_string());
}

// A trace followed through routerd into echod by the two --trace-log files:
// caller -> routerd's server span -> routerd's client span -> echod's server span.
// echod behind routerd, each writing a --trace-log file in a directory of
// the test's own.
class TracedHops : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() /
           ("trace-" + std::to_string(::getpid()) + "-" +
            ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
    echod_log = (dir_ / "echod.jsonl").string();
    routerd_log = (dir_ / "routerd.jsonl").string();
    echod.emplace(ECHOD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0", "--trace-log", echod_log});
    echod_port = echod->wait_listening();
    ASSERT_TRUE(echod_port) << echod->log();
    routerd.emplace(ROUTERD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                                                           "--discovery", "static://echo=127.0.0.1:" +
                                                                              std::to_string(*echod_port),
                                                           "--trace-log", routerd_log});
    port = routerd->wait_listening();
    ASSERT_TRUE(port) << routerd->log();
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  std::string echod_log, routerd_log;
  std::optional<Process> echod, routerd;
  std::optional<std::uint16_t> echod_port, port;

 private:
  std::filesystem::path dir_;
};

TEST_F(TracedHops, ATraceIsFollowedThroughRouterdIntoEchod) {
  RawSocket s(*port);
  const std::string trace_id = "5bf92f3577b34da6a3ce929d0e0e4736", caller_span = "00f067aa0ba902b7";
  s.send(tagged_route(1, R"({"name":"echo","procedure_id":2,"payload":"20:traced"})",
                      {.traceparent = "00-" + trace_id + "-" + caller_span + "-01"}));
  ASSERT_EQ(s.read_line(), R"(0#1:{"payload":"traced"})");
  s.send(tagged_route(2, R"({"name":"echo","procedure_id":1,"payload":"untraced"})"));
  ASSERT_EQ(s.read_line(), R"(0#2:{"payload":"untraced"})");

  auto at_routerd = spans_of(routerd_log, trace_id);
  auto at_echod = spans_of(echod_log, trace_id);
  ASSERT_EQ(at_routerd.size(), 2u);  // its server span and its client span
  ASSERT_EQ(at_echod.size(), 1u);
  auto& server = field(at_routerd[0], "kind") == "server" ? at_routerd[0] : at_routerd[1];
  auto& client = field(at_routerd[0], "kind") == "client" ? at_routerd[0] : at_routerd[1];
  EXPECT_EQ(field(server, "kind"), "server");
  EXPECT_EQ(field(client, "kind"), "client");
  EXPECT_EQ(field(server, "service"), "routerd");
  EXPECT_EQ(field(server, "parent_span_id"), caller_span);
  EXPECT_EQ(field(client, "parent_span_id"), field(server, "span_id"));
  EXPECT_EQ(field(client, "name"), "echo/2");
  EXPECT_EQ(field(client, "peer"), "127.0.0.1:" + std::to_string(*echod_port));
  EXPECT_EQ(field(at_echod[0], "service"), "echod");
  EXPECT_EQ(field(at_echod[0], "parent_span_id"), field(client, "span_id"));
  EXPECT_EQ(field(at_echod[0], "name"), "procedure 2");
  EXPECT_EQ(at_echod[0].at("status").as_int64(), 0);
  EXPECT_GE(at_echod[0].at("duration_us").as_int64(), 20000);  // SLOW_ECHO's 20 ms
  EXPECT_GE(client.at("duration_us").as_int64(), at_echod[0].at("duration_us").as_int64());

  // The call without a trace context started a trace of its own at routerd
  // (tracing is on there), and echod joined it.
  std::string started;
  for (const auto& span : spans_of(routerd_log, "")) {
    if (field(span, "trace_id") != trace_id) started = field(span, "trace_id");
  }
  ASSERT_FALSE(started.empty());
  auto root = spans_of(routerd_log, started);
  ASSERT_EQ(root.size(), 2u);
  auto& root_server = field(root[0], "kind") == "server" ? root[0] : root[1];
  EXPECT_EQ(field(root_server, "parent_span_id"), "");  // the trace's root
  auto joined = spans_of(echod_log, started);
  ASSERT_EQ(joined.size(), 1u);
  EXPECT_EQ(field(joined[0], "name"), "procedure 1");
}

// Log rotation as an operator does it: move the file away, SIGUSR1, and
// new spans go to a new file of the old name (routerd's server and client
// spans, and echod's).
TEST_F(TracedHops, SigusrOneReopensTheTraceLogs) {
  RawSocket s(*port);
  s.send(tagged_route(1, R"({"name":"echo","procedure_id":1,"payload":"before"})"));
  ASSERT_EQ(s.read_line(), R"(0#1:{"payload":"before"})");
  std::filesystem::rename(routerd_log, routerd_log + ".1");
  std::filesystem::rename(echod_log, echod_log + ".1");
  routerd->signal(SIGUSR1);
  echod->signal(SIGUSR1);
  auto reopened = [](Process& p) { return p.log().find("reopened the trace log") != std::string::npos; };
  for (auto until = std::chrono::steady_clock::now() + 5s;
       !(reopened(*routerd) && reopened(*echod)) && std::chrono::steady_clock::now() < until;) {
    std::this_thread::sleep_for(20ms);
  }
  ASSERT_TRUE(reopened(*routerd)) << routerd->log();
  ASSERT_TRUE(reopened(*echod)) << echod->log();
  s.send(tagged_route(2, R"({"name":"echo","procedure_id":1,"payload":"after"})"));
  ASSERT_EQ(s.read_line(), R"(0#2:{"payload":"after"})");
  EXPECT_EQ(spans_of(routerd_log + ".1", "").size(), 2u);  // before: server and client span
  EXPECT_EQ(spans_of(routerd_log, "").size(), 2u);         // after, in the new file
  EXPECT_EQ(spans_of(echod_log + ".1", "").size(), 1u);
  EXPECT_EQ(spans_of(echod_log, "").size(), 1u);
}

TEST(RouterdTagged, AnUnwritableTraceLogIsABadFlag) {
  auto result = run_program(ROUTERD_PATH, {"--trace-log", "/nonexistent/dir/trace.jsonl"});
  EXPECT_EQ(result.exit_code, 2) << result.err;
  EXPECT_NE(result.err.find("--trace-log"), std::string::npos) << result.err;
}

// ProxyClient speaks tagged frames to routerd (CONTRACT §8): the calls of
// one connection run at once, and each carries its deadline, trace context
// and request id, which routerd passes on to the backend.
TEST(RouterdTagged, AProxyClientRunsCallsAtOnceOnOneConnection) {
  TestBackend backend;
  auto routerd = start_routerd(backend.port());
  auto port = routerd.wait_listening();
  ASSERT_TRUE(port) << routerd.log();
  ProxyClientOptions options;
  options.address = "127.0.0.1:" + std::to_string(*port);
  options.connections = 1;
  ProxyClient proxy(options);
  ASSERT_TRUE(proxy.call("echo", 1, "warm").ok());
  boost::asio::io_context ctx;
  std::vector<Reply> replies(6);
  for (auto& reply : replies) {
    boost::asio::co_spawn(ctx, [&]() -> boost::asio::awaitable<void> {
      reply = co_await proxy.async_call("echo", tracked_procedure, "300:x");
    }, boost::asio::detached);
  }
  ctx.run();
  for (const auto& reply : replies) EXPECT_EQ(reply.payload, "x");
  EXPECT_EQ(backend.max_in_flight(), 6u);  // all at once, over one client connection (line protocol: 1)
}

TEST(RouterdTagged, AProxyClientPassesItsDeadlineTraceAndRequestId) {
  auto backend = start_test_server();
  auto routerd = start_routerd(backend->local_endpoint().port());
  auto port = routerd.wait_listening();
  ASSERT_TRUE(port) << routerd.log();
  ProxyClient proxy("127.0.0.1:" + std::to_string(*port));
  const std::string trace_id = "0af7651916cd43dd8448eb211c80319c";
  const std::string traceparent = "00-" + trace_id + "-b7ad6b7169203331-01";
  Reply reply = proxy.call("echo", call_keys_procedure, "",
                           CallOptions{.timeout = 2000ms, .traceparent = traceparent, .request_id = "req-11"});
  ASSERT_TRUE(reply.ok()) << reply.payload;
  std::smatch m;
  ASSERT_TRUE(std::regex_search(reply.payload, m,
                                std::regex(R"re(^deadline-ms=(\d+) traceparent=(\S+) request-id=(\S+)$)re")))
      << reply.payload;
  EXPECT_LE(std::stoi(m[1]), 2000);
  EXPECT_GT(std::stoi(m[1]), 1000);
  const std::string sent = m[2];
  EXPECT_NE(sent.find(trace_id), std::string::npos) << sent;            // the caller's trace ...
  EXPECT_EQ(sent.find("b7ad6b7169203331"), std::string::npos) << sent;  // ... under routerd's span
  EXPECT_EQ(m[3], "req-11");
}

// routectl call carries --traceparent and --request-id (and its deadline)
// through routerd to the backend; a value that is not valid is a bad argument.
TEST(RouterdTagged, RoutectlCallCarriesATraceAndARequestId) {
  auto backend = start_test_server();
  auto routerd = start_routerd(backend->local_endpoint().port());
  auto port = routerd.wait_listening();
  ASSERT_TRUE(port) << routerd.log();
  const std::string address = "127.0.0.1:" + std::to_string(*port);
  const std::string trace_id = "0af7651916cd43dd8448eb211c80319c";
  auto printed = run_program(ROUTECTL_PATH, {"call", "echo", std::to_string(call_keys_procedure), "", "--proxy", address,
                                             "--timeout-ms", "2500", "--traceparent",
                                             "00-" + trace_id + "-b7ad6b7169203331-01", "--request-id", "ops-42"});
  EXPECT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_NE(printed.out.find("request-id=ops-42"), std::string::npos) << printed.out;
  EXPECT_NE(printed.out.find(trace_id), std::string::npos) << printed.out;
  EXPECT_EQ(printed.out.find("deadline-ms=none"), std::string::npos) << printed.out;
  for (std::vector<std::string> bad : {std::vector<std::string>{"--traceparent", "00-nonsense"},
                                       std::vector<std::string>{"--request-id", "a:b"}}) {
    std::vector<std::string> args{"call", "echo", "1", "x", "--proxy", address};
    args.insert(args.end(), bad.begin(), bad.end());
    auto refused = run_program(ROUTECTL_PATH, args);
    EXPECT_EQ(refused.exit_code, 2) << bad[0];
    EXPECT_NE(refused.err.find(bad[0]), std::string::npos) << refused.err;
  }
}

}  // namespace
}  // namespace routing::test
