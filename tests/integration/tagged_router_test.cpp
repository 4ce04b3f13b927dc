// The router over tagged frames (CONTRACT §8), as Router::async_call,
// Router::call and routerd use it: calls share a backend connection up to
// calls_per_connection, a version-1 backend gets the line protocol, and each
// call carries its remaining deadline, the trace context (as a child of the
// router's span) and its request id.
#include "common/trace_context.h"
#include "support/test_backend.h"
#include "support/test_server.h"

#include <routing/router.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <thread>
#include <unistd.h>

namespace routing::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

// Both of the library's entries: Router::async_call runs on the router's
// loops (shared rpc::ClientConnections), Router::call on the callers' threads
// (shared rpc::BlockingConnections, read by whichever caller is waiting).
enum class Entry { async, blocking };

class TaggedRouter : public ::testing::TestWithParam<Entry> {
 protected:
  // `count` calls at once through async_call (one coroutine each) or the
  // blocking call (one thread each).
  std::vector<Reply> at_once(Router& router, int count, std::uint32_t procedure, const std::string& payload,
                             CallOptions options = {}) {
    std::vector<Reply> replies(static_cast<std::size_t>(count));
    if (GetParam() == Entry::blocking) {
      std::vector<std::thread> callers;
      for (auto& reply : replies) {
        callers.emplace_back([&] { reply = router.call("echo", procedure, payload, options); });
      }
      for (auto& caller : callers) caller.join();
      return replies;
    }
    asio::io_context ctx;
    for (auto& reply : replies) {
      asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
        reply = co_await router.async_call("echo", procedure, payload, options);
      }, asio::detached);
    }
    ctx.run();
    return replies;
  }

  static void expect_all_ok(const std::vector<Reply>& replies) {
    for (const auto& reply : replies) EXPECT_TRUE(reply.ok()) << reply.payload;
  }
};

TEST_P(TaggedRouter, CallsShareAConnectionUpToCallsPerConnection) {
  TestBackend backend;
  Router router(quiet_options(static_url({&backend})));  // defaults: pool 10, 8 calls per connection
  expect_all_ok(at_once(router, 1, 1, "first"));  // one connection, probed and tagged
  if (GetParam() == Entry::blocking) {
    // A blocking call alone ran on its thread's connection; calls with
    // company are carried by a worker (call/blocking_calls.cpp), whose pool
    // is cold here: each of the first burst connects while the first probe is
    // under way. Later bursts reuse those connections.
    expect_all_ok(at_once(router, 8, tracked_procedure, "100:x"));
    const auto warm = backend.accepted();
    const auto open = router.stats().systems.at(0).open_connections;
    backend.reset_max_in_flight();
    expect_all_ok(at_once(router, 8, tracked_procedure, "300:x"));
    EXPECT_EQ(backend.max_in_flight(), 8u);  // the second burst all at once too
    EXPECT_EQ(backend.accepted(), warm);     // on the connections of the first
    EXPECT_EQ(router.stats().systems.at(0).open_connections, open);
    return;
  }
  expect_all_ok(at_once(router, 8, tracked_procedure, "300:x"));
  EXPECT_EQ(backend.max_in_flight(), 8u);  // all at once ...
  EXPECT_EQ(backend.accepted(), 1u);       // ... on the one connection
  EXPECT_EQ(router.stats().systems.at(0).open_connections, 1u);
}

TEST_P(TaggedRouter, WithoutTaggedFramesEachCallInFlightHasAConnection) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.tagged_frames = false;
  Router router(options);
  expect_all_ok(at_once(router, 1, 1, "first"));
  expect_all_ok(at_once(router, 8, tracked_procedure, "300:x"));
  EXPECT_EQ(backend.max_in_flight(), 8u);
  EXPECT_EQ(backend.accepted(), 8u);
}

TEST_P(TaggedRouter, ThePoolSizeStillBoundsCallsInFlightOnSharedConnections) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.pool_size = 4;
  options.max_pending = 100;
  Router router(options);
  expect_all_ok(at_once(router, 1, 1, "first"));
  expect_all_ok(at_once(router, 12, tracked_procedure, "100:x"));
  EXPECT_EQ(backend.max_in_flight(), 4u);
  // Blocking calls: those that started alone ran on their threads'
  // connections (one each while others waited, routing/call/pools.h), the
  // rest on the worker's shared one; the pool bounds connections open at once.
  if (GetParam() == Entry::async) {
    EXPECT_EQ(backend.accepted(), 1u);
  } else {
    EXPECT_LE(router.stats().systems.at(0).open_connections, 4u);
  }
}

TEST_P(TaggedRouter, AVersion1BackendGetsTheLineProtocol) {
  rpc::ServerOptions v1;
  v1.tagged_frames = false;
  auto server = start_test_server(v1);
  Router router(quiet_options("static://echo=127.0.0.1:" + std::to_string(server->local_endpoint().port())));
  auto replies = at_once(router, 4, 2, "100:x");
  expect_all_ok(replies);
  for (const auto& reply : replies) EXPECT_EQ(reply.payload, "x");
  EXPECT_EQ(server->stats().accepted_total, 4u);  // one connection per call in flight
}

TEST_P(TaggedRouter, ACallCarriesItsDeadlineTraceAsAChildAndRequestId) {
  auto server = start_test_server();
  Router router(quiet_options("static://echo=127.0.0.1:" + std::to_string(server->local_endpoint().port())));
  const std::string trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
  const std::string traceparent = "00-" + trace_id + "-00f067aa0ba902b7-01";
  auto replies = at_once(router, 1, call_keys_procedure, "",
                         CallOptions{.timeout = 2000ms, .traceparent = traceparent, .request_id = "req-7"});
  ASSERT_TRUE(replies[0].ok()) << replies[0].payload;
  const std::string& keys = replies[0].payload;
  const int left = std::stoi(keys.substr(keys.find("deadline-ms=") + 12));
  EXPECT_GT(left, 1000) << keys;
  EXPECT_LE(left, 2000) << keys;
  EXPECT_NE(keys.find("request-id=req-7"), std::string::npos) << keys;
  auto sent = keys.substr(keys.find("traceparent=") + 12, traceparent.size());
  auto parsed = common::parse_traceparent(sent);
  ASSERT_TRUE(parsed) << keys;
  EXPECT_NE(sent.find(trace_id), std::string::npos) << keys;  // the same trace ...
  EXPECT_NE(sent, traceparent) << keys;                       // ... under the router's own span

  // Not a valid trace context: not passed on.
  replies = at_once(router, 1, call_keys_procedure, "", CallOptions{.timeout = {}, .traceparent = "00-nonsense"});
  EXPECT_NE(replies[0].payload.find("traceparent= "), std::string::npos) << replies[0].payload;
}

// With a trace log (tracing on), a call without a trace context starts a
// trace: the backend gets a traceparent, and the router logs the root span.
TEST_P(TaggedRouter, WithATraceLogACallWithoutTraceStartsOne) {
  auto server = start_test_server();
  const std::string log = std::filesystem::temp_directory_path() /
                          ("router-trace-" + std::to_string(::getpid()) + ".jsonl");
  std::filesystem::remove(log);
  auto options = quiet_options("static://echo=127.0.0.1:" + std::to_string(server->local_endpoint().port()));
  options.trace_log = log;
  {
    Router router(options);
    auto replies = at_once(router, 1, call_keys_procedure, "");
    ASSERT_TRUE(replies[0].ok()) << replies[0].payload;
    const auto& keys = replies[0].payload;
    auto sent = keys.substr(keys.find("traceparent=") + 12, 55);
    auto parsed = common::parse_traceparent(sent);
    ASSERT_TRUE(parsed) << keys;
    std::ifstream in(log);
    std::string line;
    ASSERT_TRUE(std::getline(in, line));
    EXPECT_NE(line.find(std::string(R"("trace_id":")") + std::string(parsed->trace_id)), std::string::npos) << line;
    EXPECT_NE(line.find(R"("parent_span_id":"")"), std::string::npos) << line;  // the trace's root
    EXPECT_NE(line.find(R"("kind":"client")"), std::string::npos) << line;
  }
  std::filesystem::remove(log);
}

INSTANTIATE_TEST_SUITE_P(EveryEntry, TaggedRouter, ::testing::Values(Entry::async, Entry::blocking),
                         [](const auto& info) { return info.param == Entry::async ? "Async" : "Blocking"; });

}  // namespace
}  // namespace routing::test
