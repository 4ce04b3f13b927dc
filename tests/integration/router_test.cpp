// routing::Router (library mode) against in-process backends.
#include <routing/router.h>

#include "support/core_on_loop.h"
#include "support/eventually.h"
#include "support/duplicating_backend.h"
#include "support/ports.h"
#include "support/test_backend.h"
#include "support/test_discoveryd.h"
#include "rpc/blocking_client.h"
#include "routing/router_core.h"

#include "support/spread.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

#include <optional>

#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

namespace routing::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct Request {
  std::string system = "echo";
  std::uint32_t procedure = 1;
  std::string payload;
  CallOptions options;
};

// Runs every request at once (one coroutine each) and returns the replies.
std::vector<Reply> run_concurrently(Router& router, const std::vector<Request>& requests) {
  asio::io_context ctx;
  std::vector<Reply> replies(requests.size());
  for (std::size_t i = 0; i < requests.size(); ++i) {
    asio::co_spawn(ctx, [&, i]() -> asio::awaitable<void> {
      const auto& r = requests[i];
      replies[i] = co_await router.async_call(r.system, r.procedure, r.payload, r.options);
    }, asio::detached);
  }
  ctx.run();
  return replies;
}


TEST(Router, RoutesACall) {
  TestBackend backend;
  Router router(quiet_options(static_url({&backend})));
  Reply reply = router.call("echo", 1, "hello\nworld");
  EXPECT_TRUE(reply.ok()) << reply.payload;
  EXPECT_EQ(reply.payload, "hello\nworld");
  EXPECT_EQ(router.call("echo", 99, "").status, Status::unimplemented);  // the backend's own status
}

TEST(Router, AnswersNotFoundForASystemWithoutInstances) {
  TestBackend backend;
  Router router(quiet_options(static_url({&backend})));
  Reply reply = router.call("ghost", 1, "x");
  EXPECT_EQ(reply.status, Status::not_found);
  EXPECT_NE(reply.payload.find("ghost"), std::string::npos);
}

TEST(Router, AnswersUnavailableWhenDiscoveryIsUnreachable) {
  Router router(quiet_options("rpc://127.0.0.1:" + std::to_string(free_port())));
  EXPECT_EQ(router.call("echo", 1, "x").status, Status::unavailable);
}

TEST(Router, RoundRobinSpreadsEvenly) {
  TestBackend a, b, c;
  Router router(quiet_options(static_url({&a, &b, &c})));
  for (auto [address, count] : spread(router, 300)) EXPECT_EQ(count, 100) << address;
}

// CONTRACT §11 in library mode: RouterOptions::zone, weights from a
// static:// URL, and set_drained.
TEST(Router, KeepsCallsInItsZoneWeighsBackendsAndSkipsDrainedOnes) {
  TestBackend a, b1, b2;
  auto options = quiet_options("static://echo=" + a.address() + "@a," + b1.address() + "@b*300," + b2.address() + "@b");
  options.zone = "b";
  Router router(options);
  auto seen = spread(router, 400);
  EXPECT_EQ(seen.count(a.address()), 0u) << "zone a is not used while zone b serves";
  EXPECT_NEAR(seen[b1.address()], 300, 12) << "weight 300 of 400 (round-robin, spread by weight)";
  EXPECT_NEAR(seen[b2.address()], 100, 12);
  EXPECT_EQ(router.set_drained("echo", b1.address(), true), Router::Drain::listed);
  EXPECT_EQ(router.set_drained("echo", b2.address(), true), Router::Drain::listed);
  EXPECT_EQ(spread(router, 20)[a.address()], 20) << "zone b drained: everything spills to zone a";
  auto stats = router.stats();
  ASSERT_EQ(stats.systems.size(), 1u);
  EXPECT_GE(stats.systems[0].cross_zone_calls, 20u);
  router.set_drained("echo", b1.address(), false);
  EXPECT_EQ(router.set_drained("echo", "127.0.0.1:9", true), Router::Drain::not_listed);
  // One of two zone b backends back (weight 300 of 400): 1.4 × 3/4 > 1, all near.
  EXPECT_EQ(spread(router, 20)[b1.address()], 20);
}

TEST(Router, EveryStrategyReachesEveryBackend) {
  TestBackend a, b, c;
  Router router(quiet_options(static_url({&a, &b, &c})));
  for (const char* strategy : {"random", "least-connections", "pick-2", "round-robin"}) {
    ASSERT_TRUE(router.set_strategy(strategy));
    auto seen = spread(router, 300);
    EXPECT_EQ(seen.size(), 3u) << strategy;
    for (auto [address, count] : seen) EXPECT_GT(count, 40) << strategy << " " << address;
  }
  EXPECT_FALSE(router.set_strategy("fastest"));
}

TEST(Router, LeastConnectionsAvoidsTheBusyBackend) {
  TestBackend a, b;
  auto options = quiet_options(static_url({&a, &b}));
  options.strategy = "least-connections";
  Router router(options);
  // Park one long call on one backend, then the quick calls go to the other.
  asio::io_context ctx;
  Reply slow;
  asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
    slow = co_await router.async_call("echo", tracked_procedure, "800:slow");
  }, asio::detached);
  std::thread runner([&] { ctx.run(); });
  std::this_thread::sleep_for(200ms);
  auto busy = a.max_in_flight() == 1 ? a.address() : b.address();
  auto seen = spread(router, 20);
  EXPECT_EQ(seen.count(busy), 0u);
  runner.join();
  EXPECT_TRUE(slow.ok());
}

TEST(Router, StrategyCanBeSetForOneSystem) {
  TestBackend a, b;
  Router router(quiet_options(static_url({&a, &b}) + ";kv=" + a.address()));
  ASSERT_TRUE(router.set_strategy("pick-2", "echo"));
  router.call("kv", 1, "");
  auto stats = router.stats();
  ASSERT_EQ(stats.systems.size(), 2u);
  EXPECT_EQ(stats.systems[0].name, "echo");
  EXPECT_EQ(stats.systems[0].strategy, "pick-2");
  EXPECT_EQ(stats.systems[1].strategy, "round-robin");
  ASSERT_TRUE(router.set_strategy("random"));  // every system, clearing the choice
  stats = router.stats();
  EXPECT_EQ(stats.systems[0].strategy, "random");
  EXPECT_EQ(stats.systems[1].strategy, "random");
}

TEST(Router, BackPressureBoundsCallsInFlightAndRefusesPastMaxPending) {
  TestBackend a, b;
  TestBackend::reset_anywhere();
  auto options = quiet_options(static_url({&a, &b}));
  options.pool_size = 3;
  options.max_pending = 5;
  Router router(options);
  std::vector<Request> requests(20, Request{"echo", tracked_procedure, "300:ok", {}});
  auto replies = run_concurrently(router, requests);
  int ok = 0, refused = 0;
  for (const auto& reply : replies) {
    ok += reply.ok();
    refused += reply.status == Status::resource_exhausted;
  }
  EXPECT_EQ(ok, 8);        // 3 in flight + 5 waiting
  EXPECT_EQ(refused, 12);  // answered 8 at once
  EXPECT_LE(TestBackend::max_in_flight_anywhere(), 3u);
  auto stats = router.stats().systems.at(0);
  EXPECT_LE(stats.open_connections, 3u);
  EXPECT_EQ(stats.in_flight, 0u);
  EXPECT_EQ(stats.waiting, 0u);
}

// Early shedding in library mode, blocking and async alike (the rule is
// CallFlow's): once a queued call is known to have waited >= 200 ms for
// the one slot, calls to hold it >= 200 ms, and the queue has let a
// deadline pass (overload), a call with 250 ms left
// behind a busy slot cannot make it: 8 at once, never sent. A call with
// time enough waits and is served.
TEST(Router, ACallTheQueueWouldServeTooLateIsRefusedAtOnce) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.pool_size = 1;
  Router router(options);
  {  // teaches the queue's speed: the second waits for the first
    std::thread first([&] { EXPECT_TRUE(router.call("echo", tracked_procedure, "200:warm").ok()); });
    ASSERT_TRUE(eventually([&] { return router.stats().systems.size() == 1 && router.stats().systems.at(0).in_flight == 1; }));
    EXPECT_TRUE(router.call("echo", tracked_procedure, "200:warm").ok());
    first.join();
  }
  std::thread busy([&] { EXPECT_TRUE(router.call("echo", tracked_procedure, "300:busy").ok()); });
  ASSERT_TRUE(eventually([&] { return router.stats().systems.at(0).in_flight == 1; }));
  // Overload shows: a call's deadline passes in the queue (4, after waiting).
  EXPECT_EQ(router.call("echo", tracked_procedure, "1:lost", CallOptions{.timeout = 20ms}).status,
            Status::deadline_exceeded);
  const CallOptions short_deadline{.timeout = 250ms};
  Reply blocking = router.call("echo", tracked_procedure, "1:late", short_deadline);
  EXPECT_EQ(blocking.status, Status::resource_exhausted);
  EXPECT_NE(blocking.payload.find("'echo' is overloaded"), std::string::npos) << blocking.payload;
  auto async = run_concurrently(router, {Request{"echo", tracked_procedure, "1:late", short_deadline}});
  EXPECT_EQ(async.at(0).status, Status::resource_exhausted);
  Reply patient = router.call("echo", tracked_procedure, "1:patient", CallOptions{.timeout = 5s});
  EXPECT_TRUE(patient.ok()) << patient.payload;
  busy.join();
  auto stats = router.stats().systems.at(0);
  EXPECT_EQ(stats.shed, 2u);
  EXPECT_EQ(stats.queue_wait.count, 3u);  // the second warm call's, the lost one's and the patient one's
  EXPECT_EQ(backend.served(), 4u);        // warm twice, busy, patient: the late ones never went out
}

TEST(Router, QueuedCallsAreServedInOrderOfArrival) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.pool_size = 1;
  Router router(options);
  std::vector<Request> requests;
  for (int i = 0; i < 10; ++i) requests.push_back({"echo", tracked_procedure, "20:" + std::to_string(i), {}});
  auto replies = run_concurrently(router, requests);
  for (int i = 0; i < 10; ++i) EXPECT_EQ(replies[i].payload, std::to_string(i));
  EXPECT_EQ(backend.max_in_flight(), 1u);
}

// On the line protocol the connection closes (a late answer could not be
// told from the next call's); a tagged one gives the call up alone, tells
// the backend, and serves the next call.
TEST(Router, DeadlineEndsTheCallWithStatus4AndClosesItsLineConnection) {
  for (bool tagged : {false, true}) {
    TestBackend backend;
    auto options = quiet_options(static_url({&backend}));
    options.tagged_frames = tagged;
    Router router(options);
    auto start = Clock::now();
    Reply reply = router.call("echo", 2, "3000:late", CallOptions{.timeout = 200ms});
    auto took = Clock::now() - start;
    EXPECT_EQ(reply.status, Status::deadline_exceeded) << reply.payload;
    EXPECT_GE(took, 190ms);
    EXPECT_LT(took, 1000ms);
    EXPECT_EQ(router.stats().systems.at(0).open_connections, tagged ? 1u : 0u) << tagged;
    EXPECT_TRUE(router.call("echo", 1, "next").ok());
    EXPECT_EQ(router.stats().systems.at(0).open_connections, 1u) << tagged;
  }
}

TEST(Router, CallsEndCloseToTheirDeadline) {
  TestBackend backend;
  Router router(quiet_options(static_url({&backend})));
  ASSERT_TRUE(router.call("echo", 1, "warm").ok());  // the blocking path knows the backend
  // Long deadlines too: the kernel's socket timeouts get coarser with length.
  for (auto timeout : {30ms, 120ms, 500ms, 2000ms}) {
    auto start = Clock::now();
    Reply reply = router.call("echo", 2, "3000:late", CallOptions{.timeout = timeout});
    auto over = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start - timeout);
    std::printf("deadline %lld ms: ended %.1f ms after it\n", static_cast<long long>(timeout.count()),
                over.count() / 1000.0);
    EXPECT_EQ(reply.status, Status::deadline_exceeded) << reply.payload;
    EXPECT_GE(over.count(), 0);
    EXPECT_LT(over, 100ms);  // the reliability bound (docs/reliability.md)
  }
}

TEST(Router, DeadlineCoversWaitingForASlot) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.pool_size = 1;
  Router router(options);
  // Known first: calls waiting together for a system's first backend set
  // are woken in no promised order.
  ASSERT_TRUE(router.call("echo", 1, "warm").ok());
  std::vector<Request> requests{{"echo", 2, "600:first", {}}, {"echo", 1, "second", CallOptions{.timeout = 150ms}}};
  auto replies = run_concurrently(router, requests);
  EXPECT_TRUE(replies[0].ok());
  EXPECT_EQ(replies[1].status, Status::deadline_exceeded);
}

TEST(Router, ReusesPooledConnections) {
  TestBackend backend;
  Router router(quiet_options(static_url({&backend})));
  for (int i = 0; i < 50; ++i) ASSERT_TRUE(router.call("echo", 1, "x").ok());
  EXPECT_EQ(router.stats().systems.at(0).open_connections, 1u);
  EXPECT_EQ(backend.open_connections(), 1u);
}

TEST(Router, ARestartedBackendCostsNoFailedCall) {
  TestBackend backend;
  Router router(quiet_options(static_url({&backend})));
  auto warm = run_concurrently(router, std::vector<Request>(8, Request{"echo", tracked_procedure, "50:x", {}}));
  for (const auto& reply : warm) ASSERT_TRUE(reply.ok());
  ASSERT_GT(router.stats().systems.at(0).open_connections, 1u);  // several pooled connections
  auto port = backend.port();
  backend.kill();
  backend.start(port);
  std::this_thread::sleep_for(50ms);
  for (int i = 0; i < 20; ++i) {
    Reply reply = router.call("echo", 1, "after restart");
    EXPECT_TRUE(reply.ok()) << i << ": " << reply.payload;
  }
}

TEST(Router, ABackendDyingSoonAfterUseCostsNoBlockingCall) {
  // Blocking connections have no read armed, so one idle for more than a
  // few milliseconds is checked before reuse: a backend that died since is
  // found out before the request is written, and the call goes on a new
  // connection. (One used within the last 2 ms is trusted: a peek per call
  // would cost the library a fifth of its speed.)
  TestBackend backend;
  Router router(quiet_options(static_url({&backend})));
  std::vector<std::thread> warmers;
  for (int i = 0; i < 4; ++i) {
    warmers.emplace_back([&] { EXPECT_TRUE(router.call("echo", 2, "30:warm").ok()); });
  }
  for (auto& warmer : warmers) warmer.join();
  ASSERT_GE(router.stats().systems.at(0).open_connections, 2u);
  auto port = backend.port();
  backend.kill();
  backend.start(port);
  std::this_thread::sleep_for(10ms);  // past the 2 ms of trust, well within the 50 ms of an armed read
  int failed = 0;
  for (int i = 0; i < 10; ++i) failed += !router.call("echo", 1, "after restart").ok();
  EXPECT_EQ(failed, 0);
}

TEST(Router, RetriesARefusedConnectionOnAnotherBackend) {
  TestBackend live;
  TestBackend dead;
  dead.kill();
  Router router(quiet_options(static_url({&live, &dead})));
  for (int i = 0; i < 20; ++i) {
    Reply reply = router.call("echo", 1, "x");
    EXPECT_TRUE(reply.ok()) << reply.payload;
  }
  auto stats = router.stats().systems.at(0);
  EXPECT_GT(stats.retries, 0u);
}

TEST(Router, EjectsAFailingBackendButNeverTooMany) {
  TestBackend live;
  TestBackend dead1, dead2;
  dead1.kill();
  dead2.kill();
  auto options = quiet_options(static_url({&live, &dead1, &dead2}));
  options.eject_after = 2;
  options.max_ejected_percent = 50;  // at most one of three
  options.min_retries_per_second = 1000;
  Router router(options);
  // Spread over three times System::failed_recently: a backend whose attempt
  // just failed is passed over for that long, so its failures are that far apart.
  for (int i = 0; i < 30; ++i) {
    EXPECT_TRUE(router.call("echo", 1, "x").ok());
    std::this_thread::sleep_for(core::System::failed_recently / 10);
  }
  auto stats = router.stats().systems.at(0);
  int ejected = 0;
  std::uint64_t ejections = 0;
  for (const auto& backend : stats.backends) {
    ejected += backend.ejected;
    ejections += backend.ejections;
  }
  EXPECT_EQ(ejected, 1);
  EXPECT_GE(ejections, 1u);
}

// Starts four slow calls (two land on each backend), kills `victim` while
// they are in flight, and returns their replies.
std::vector<Reply> calls_across_a_backend_death(Router& router, TestBackend& victim, bool idempotent) {
  asio::io_context ctx;
  std::vector<Reply> replies(4);
  for (int i = 0; i < 4; ++i) {
    asio::co_spawn(ctx, [&, i]() -> asio::awaitable<void> {
      replies[i] = co_await router.async_call("echo", tracked_procedure, "500:x", CallOptions{.timeout = {}, .idempotent = idempotent});
    }, asio::detached);
  }
  std::thread runner([&] { ctx.run(); });
  std::this_thread::sleep_for(150ms);
  auto port = victim.port();
  victim.kill();
  runner.join();
  victim.start(port);
  return replies;
}

TEST(Router, ACallInFlightWhenItsBackendDiesGets14UnlessIdempotent) {
  TestBackend a, b;
  Router router(quiet_options(static_url({&a, &b})));
  int failed = 0;
  for (const auto& reply : calls_across_a_backend_death(router, a, false)) {
    if (reply.ok()) continue;
    EXPECT_EQ(reply.status, Status::unavailable) << reply.payload;
    ++failed;
  }
  EXPECT_EQ(failed, 2);  // the two on the dead backend; never resent
  for (const auto& reply : calls_across_a_backend_death(router, a, true)) {
    EXPECT_TRUE(reply.ok()) << reply.payload;  // resent once to b
  }
  EXPECT_GE(router.stats().systems.at(0).retries, 2u);
}

TEST(Router, ABackendKilledUnderLoadDoesNotStopTheService) {
  TestBackend a, b, c;
  auto options = quiet_options(static_url({&a, &b, &c}));
  options.pool_size = 16;
  Router router(options);
  std::atomic<bool> done{false};
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      while (!done) {
        Reply reply = router.call("echo", tracked_procedure, "5:x", CallOptions{.timeout = 2s});
        (reply.ok() ? ok : failed)++;
        if (!reply.ok()) {
          EXPECT_EQ(reply.status, Status::unavailable) << reply.payload;
        }
      }
    });
  }
  std::this_thread::sleep_for(300ms);
  b.kill();
  std::this_thread::sleep_for(300ms);
  int failed_at_kill = failed;
  std::this_thread::sleep_for(500ms);
  done = true;
  for (auto& caller : callers) caller.join();
  EXPECT_LE(failed_at_kill, 8);        // at most the calls in flight on b
  EXPECT_EQ(failed.load(), failed_at_kill);  // none after that
  EXPECT_GT(ok.load(), 100);
}

TEST(Router, FollowsDiscoveryChangesDuringLoad) {
  TestDiscoveryd discoveryd;
  TestBackend a, b;
  rpc::BlockingClient registry(discoveryd.address());
  registry.call(1, R"({"name":"echo","address":")" + a.address() + R"("})");
  Router router(quiet_options(discoveryd.url()));
  EXPECT_EQ(spread(router, 10).count(a.address()), 1u);

  registry.call(1, R"({"name":"echo","address":")" + b.address() + R"("})");
  std::this_thread::sleep_for(300ms);
  EXPECT_EQ(spread(router, 10).size(), 2u);

  registry.call(4, R"({"name":"echo","address":")" + a.address() + R"("})");
  std::this_thread::sleep_for(300ms);
  auto seen = spread(router, 10);
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen.count(b.address()), 1u);
}

TEST(Router, KeepsServingTheLastSetWhileDiscoveryIsDown) {
  auto discoveryd = std::make_unique<TestDiscoveryd>();
  TestBackend a;
  rpc::BlockingClient(discoveryd->address()).call(1, R"({"name":"echo","address":")" + a.address() + R"("})");
  Router router(quiet_options(discoveryd->url()));
  ASSERT_TRUE(router.call("echo", 1, "x").ok());
  discoveryd.reset();
  std::this_thread::sleep_for(300ms);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(router.call("echo", 1, "x").ok());
}

// A restarted discoveryd answers "no instances" until they re-register: the
// router keeps the last backends for a grace instead of failing every call.
struct EmptySetFixture {
  explicit EmptySetFixture(std::chrono::milliseconds grace) : registry(discoveryd.address()) {
    enroll(a);
    auto options = quiet_options(discoveryd.url());
    options.empty_discovery_grace = grace;
    options.idle_timeout = 100ms;  // the sweep that ends a grace runs every 50 ms
    router = std::make_unique<Router>(options);
  }
  void enroll(TestBackend& backend) {
    registry.call(1, R"({"name":"echo","address":")" + backend.address() + R"("})");
  }
  void withdraw(TestBackend& backend) {
    registry.call(4, R"({"name":"echo","address":")" + backend.address() + R"("})");
  }
  TestDiscoveryd discoveryd;
  TestBackend a, b;
  rpc::BlockingClient registry;
  std::unique_ptr<Router> router;
};

TEST(Router, KeepsTheLastBackendsForAGraceWhenDiscoverySuddenlyListsNone) {
  EmptySetFixture f(700ms);
  ASSERT_TRUE(f.router->call("echo", 1, "x").ok());
  f.withdraw(f.a);
  auto emptied = Clock::now();
  std::this_thread::sleep_for(200ms);  // the watch has delivered the empty set
  EXPECT_TRUE(f.router->call("echo", 1, "x").ok()) << "routed to the last known backend during the grace";
  EXPECT_TRUE(eventually([&] { return f.router->call("echo", 1, "x").status == Status::not_found; }, 3s));
  EXPECT_GE(Clock::now() - emptied, 600ms);
}

TEST(Router, ANonEmptySetDuringTheGraceReplacesTheHeldOne) {
  EmptySetFixture f(300ms);
  ASSERT_TRUE(f.router->call("echo", 1, "x").ok());
  f.withdraw(f.a);
  std::this_thread::sleep_for(100ms);
  f.enroll(f.b);
  std::this_thread::sleep_for(600ms);  // past the grace: nothing empty is applied
  auto seen = spread(*f.router, 10);
  EXPECT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen.count(f.b.address()), 1u);
}

TEST(Router, BelievesEmptySetsAtOnceWithoutAGrace) {
  EmptySetFixture f(0ms);
  ASSERT_TRUE(f.router->call("echo", 1, "x").ok());
  f.withdraw(f.a);
  EXPECT_TRUE(eventually([&] { return f.router->call("echo", 1, "x").status == Status::not_found; }, 1s));
}

TEST(Router, ActiveHealthChecksTakeBackendsOutAndBackIn) {
  TestBackend a, b;
  auto options = quiet_options(static_url({&a, &b}));
  options.health_check_interval = 50ms;
  options.unhealthy_after = 2;
  Router router(options);
  router.call("echo", 1, "x");
  auto port = a.port();
  a.kill();
  auto healthy_of = [&](const std::string& address) {
    auto stats = router.stats();  // (a temporary's members would dangle in the loop)
    for (const auto& backend : stats.systems.at(0).backends) {
      if (backend.address == address) return backend.healthy;
    }
    return true;
  };
  auto deadline = Clock::now() + 3s;
  while (healthy_of(a.address()) && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_FALSE(healthy_of(a.address()));
  auto seen = spread(router, 10);  // all to b, no failures
  EXPECT_EQ(seen.size(), 1u);
  a.start(port);
  deadline = Clock::now() + 3s;
  while (!healthy_of(a.address()) && Clock::now() < deadline) std::this_thread::sleep_for(20ms);
  EXPECT_TRUE(healthy_of(a.address()));
}

TEST(Router, ClosesIdleConnectionsAfterTheIdleTimeout) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.idle_timeout = 200ms;
  Router router(options);
  ASSERT_TRUE(router.call("echo", 1, "x").ok());
  EXPECT_EQ(router.stats().systems.at(0).open_connections, 1u);
  std::this_thread::sleep_for(600ms);
  EXPECT_EQ(router.stats().systems.at(0).open_connections, 0u);
  EXPECT_TRUE(router.call("echo", 1, "x").ok());
}

// Health checks borrow idle pooled connections (so those are exercised too)
// and must give them back with their idle time untouched: with checks far
// more frequent than the idle timeout, the connections still close.
TEST(Router, IdleConnectionsCloseAfterTheIdleTimeoutWithHealthChecksOn) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.idle_timeout = 1000ms;
  options.health_check_interval = 100ms;
  Router router(options);
  // Five calls at once through the loops: five pooled connections.
  auto replies = run_concurrently(router, std::vector<Request>(5, Request{"echo", tracked_procedure, "200:x", {}}));
  for (const auto& reply : replies) ASSERT_TRUE(reply.ok()) << reply.payload;
  // Five pooled (plus, at moments, a check's own: while every connection is
  // busy a check opens one for itself and closes it afterwards, so the count
  // drops to 0 between checks).
  EXPECT_GE(router.stats().systems.at(0).open_connections, 5u);
  EXPECT_TRUE(eventually([&] { return router.stats().systems.at(0).open_connections == 0; }, 4000ms))
      << router.stats().systems.at(0).open_connections << " still open";
  EXPECT_TRUE(router.stats().systems.at(0).backends.at(0).healthy);
  EXPECT_TRUE(router.call("echo", 1, "x").ok());
}

// Without tagged frames, blocking callers that find every slot taken wait
// on their own threads, in order: with the router's loop stopped, they are
// still all served.
TEST(Router, LineProtocolBlockingCallsThatWaitForASlotStayOnTheCallersThread) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.pool_size = 1;
  options.tagged_frames = false;
  CoreOnAStoppableLoop router(options);
  auto& core = router.core();
  ASSERT_TRUE(core.call_blocking("echo", 1, "learn the backends", {}).reply.ok());
  router.stop_loop();
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int t = 0; t < 4; ++t) {
    callers.emplace_back([&] { ok += core.call_blocking("echo", tracked_procedure, "50:x", {}).reply.ok(); });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(ok.load(), 4);
  EXPECT_EQ(backend.max_in_flight(), 1u);
}

// With tagged frames, a blocking call alone runs on its caller's thread; one
// that finds another call of its system in flight is carried by a worker,
// where calls share connections and batch (call/blocking_calls.cpp).
TEST(Router, BlockingCallsWithCompanyAreCarriedByAWorker) {
  TestBackend backend;
  CoreOnAStoppableLoop router(quiet_options(static_url({&backend})));
  auto& core = router.core();
  ASSERT_TRUE(core.call_blocking("echo", 1, "learn the backends", {}).reply.ok());
  router.stop_loop();
  std::atomic<bool> alone_done{false}, second_done{false};
  // Long enough that the second call surely starts while it is in flight.
  std::thread alone([&] { alone_done = core.call_blocking("echo", tracked_procedure, "1500:x", {}).reply.ok(); });
  ASSERT_TRUE(eventually([&] { return core.stats().systems.at(0).in_flight == 1; }, 2000ms));
  std::thread second([&] { second_done = core.call_blocking("echo", 1, "with company", {}).reply.ok(); });
  alone.join();  // served on its own thread, the loop stopped
  EXPECT_TRUE(alone_done.load());
  std::this_thread::sleep_for(100ms);
  EXPECT_FALSE(second_done.load());  // waits for the worker's loop
  router.restart_loop();
  second.join();
  EXPECT_TRUE(second_done.load());
}

TEST(Router, ManyThreadsCallAtOnce) {
  TestBackend a, b;
  auto options = quiet_options(static_url({&a, &b}));
  options.threads = 2;
  Router router(options);
  std::vector<std::thread> threads;
  std::atomic<int> ok{0};
  for (int t = 0; t < 16; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 100; ++i) {
        std::string payload = std::to_string(t) + "/" + std::to_string(i);
        Reply reply = router.call("echo", 1, payload);
        if (reply.ok() && reply.payload == payload) ++ok;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(ok.load(), 1600);
  EXPECT_LE(router.stats().systems.at(0).open_connections, options.pool_size);
}

TEST(Router, BlockingCallsRunOnTheCallersThreadWithoutAHop) {
  TestBackend backend;
  CoreOnAStoppableLoop router(quiet_options(static_url({&backend})));
  auto& core = router.core();
  // A system's first call learns its backends on the loop...
  auto first = core.call_blocking("echo", 1, "first", {});
  ASSERT_TRUE(first.reply.ok()) << first.reply.payload;
  // ...then blocking calls need no loop at all: stop it and call.
  router.stop_loop();
  for (int i = 0; i < 20; ++i) {
    auto outcome = core.call_blocking("echo", 1, "call " + std::to_string(i), {});
    EXPECT_EQ(outcome.reply.payload, "call " + std::to_string(i));
  }
  auto stats = core.stats().systems.at(0);
  EXPECT_EQ(stats.open_connections, 1u);  // one blocking connection, reused 21 times
  EXPECT_EQ(stats.in_flight, 0u);
}

TEST(Router, BlockingCallsWaitInLineWhenEverySlotIsTaken) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.pool_size = 2;
  Router router(options);
  ASSERT_TRUE(router.call("echo", 1, "warm").ok());
  std::vector<std::thread> callers;
  std::atomic<int> ok{0};
  for (int t = 0; t < 6; ++t) {
    callers.emplace_back([&] { ok += router.call("echo", tracked_procedure, "100:x").ok(); });
  }
  for (auto& caller : callers) caller.join();
  EXPECT_EQ(ok.load(), 6);                 // the four without a slot waited in line
  EXPECT_LE(backend.max_in_flight(), 2u);  // never more than pool_size at once
}

// A blocking call waiting for a slot ends at its deadline with 4, leaving
// nothing behind; later ones are handed their slot as it frees.
TEST(Router, ABlockingCallWaitingForASlotEndsAtItsDeadline) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.pool_size = 1;
  Router router(options);
  ASSERT_TRUE(router.call("echo", 1, "warm").ok());
  std::thread slow([&] { EXPECT_TRUE(router.call("echo", tracked_procedure, "600:slow").ok()); });
  ASSERT_TRUE(eventually([&] { return backend.served() == 1; }));
  auto start = Clock::now();
  Reply late = router.call("echo", 1, "x", CallOptions{.timeout = 150ms});
  EXPECT_EQ(late.status, Status::deadline_exceeded) << late.payload;
  EXPECT_LT(Clock::now() - start, 500ms);
  Reply handed = router.call("echo", 1, "handed over");  // waits, is handed the slot
  EXPECT_EQ(handed.payload, "handed over");
  slow.join();
  auto stats = router.stats().systems.at(0);
  EXPECT_EQ(stats.in_flight, 0u);
  EXPECT_EQ(stats.waiting, 0u);
}

TEST(Router, ThousandsOfFailingCallsLeakNoPermitOrConnection) {
  TestBackend live, doomed;
  TestBackend dead;
  dead.kill();
  auto options = quiet_options(static_url({&live}) + ";dead=" + dead.address() + ";doomed=" + doomed.address());
  options.pool_size = 4;
  options.max_pending = 5000;
  options.eject_after = 1000000;  // keep calling the dead backend
  Router router(options);

  // Refused connections.
  auto refused = run_concurrently(router, std::vector<Request>(2000, Request{"dead", 1, "x", {}}));
  for (const auto& reply : refused) ASSERT_EQ(reply.status, Status::unavailable) << reply.payload;
  // Deadlines passing, while connecting, waiting for a slot and in the exchange.
  // Once deadlines pass in the queue (overload), calls the queue cannot
  // serve in time are refused at once with 8 instead (issue 27's early
  // shedding); the first ones still end with 4 on every deadline path.
  auto late = run_concurrently(router, std::vector<Request>(1000, Request{"echo", 2, "50:x", CallOptions{.timeout = 5ms}}));
  int deadline_passed = 0;
  for (const auto& reply : late) {
    ASSERT_TRUE(reply.status == Status::deadline_exceeded || reply.status == Status::resource_exhausted)
        << reply.payload;
    deadline_passed += reply.status == Status::deadline_exceeded;
  }
  EXPECT_GT(deadline_passed, 0);
  // Backends killed mid-call.
  for (int round = 0; round < 5; ++round) {
    asio::io_context ctx;
    std::vector<Reply> replies(8);
    for (int i = 0; i < 8; ++i) {
      asio::co_spawn(ctx, [&, i]() -> asio::awaitable<void> {
        replies[i] = co_await router.async_call("doomed", tracked_procedure, "300:x");
      }, asio::detached);
    }
    std::thread runner([&] { ctx.run(); });
    std::this_thread::sleep_for(50ms);
    auto port = doomed.port();
    doomed.kill();
    runner.join();
    for (const auto& reply : replies) EXPECT_FALSE(reply.ok());
    doomed.start(port);
  }

  // Every permit and connection came back: pool_size calls at once all work.
  for (const auto& system : {"echo", "dead", "doomed"}) {
    auto stats = router.stats();
    for (const auto& each : stats.systems) {
      if (each.name != system) continue;
      EXPECT_EQ(each.in_flight, 0u) << system;
      EXPECT_EQ(each.waiting, 0u) << system;
      EXPECT_LE(each.open_connections, options.pool_size) << system;
    }
  }
  auto replies = run_concurrently(router, std::vector<Request>(4, Request{"echo", tracked_procedure, "100:ok", {}}));
  for (const auto& reply : replies) EXPECT_TRUE(reply.ok()) << reply.payload;
  auto doomed_replies = run_concurrently(router, std::vector<Request>(4, Request{"doomed", tracked_procedure, "100:ok", {}}));
  for (const auto& reply : doomed_replies) EXPECT_TRUE(reply.ok()) << reply.payload;
  EXPECT_LE(live.open_connections(), options.pool_size);
}

TEST(Router, ForgetsSystemsWithoutInstancesThatNobodyCalls) {
  TestBackend backend;
  auto options = quiet_options(static_url({&backend}));
  options.unused_system_retention = 100ms;
  options.idle_timeout = 200ms;  // the sweep that forgets runs every idle_timeout / 2
  Router router(options);
  ASSERT_TRUE(router.call("echo", 1, "x").ok());
  // Names discovery does not know leave no system behind, only a
  // remembered name (with no discovery watch).
  for (int i = 0; i < 50; ++i) EXPECT_EQ(router.call("ghost-" + std::to_string(i), 1, "x").status, Status::not_found);
  EXPECT_EQ(router.stats().systems.size(), 1u);
  EXPECT_EQ(router.stats().unknown_names, 50u);
  EXPECT_EQ(router.call("ghost-1", 1, "x").status, Status::not_found);  // still answers the same
  EXPECT_EQ(router.stats().systems.at(0).name, "echo");  // it has instances: kept
}

// Issue 20, finding 8: discovery that accepts and never answers (a listening
// socket nobody accepts on: the kernel completes the handshake). The first
// call to a system waits for its first backend set no longer than its own
// deadline, in both modes.
TEST(Router, TheFirstCallWaitsForDiscoveryNoLongerThanItsDeadline) {
  asio::io_context ctx;
  asio::ip::tcp::acceptor hung(ctx, {asio::ip::make_address("127.0.0.1"), 0});  // listens, never accepts
  auto options = quiet_options("rpc://127.0.0.1:" + std::to_string(hung.local_endpoint().port()));
  Router router(options);
  auto start = std::chrono::steady_clock::now();
  Reply blocking = router.call("echo", 1, "x", CallOptions{.timeout = 200ms});
  auto blocking_took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(blocking.status, Status::deadline_exceeded) << blocking.payload;
  EXPECT_LT(blocking_took, 300ms);  // discovery's own timeout is 2 s
  start = std::chrono::steady_clock::now();
  auto replies = run_concurrently(router, {{"kv", 1, "x", CallOptions{.timeout = 200ms}}});
  auto async_took = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(replies[0].status, Status::deadline_exceeded) << replies[0].payload;
  EXPECT_LT(async_took, 300ms);
}

// Issue 20, finding 3: a backend that accepts and never answers (a listening
// socket nobody accepts on), beside a good one, under steady load. Each mode
// of defence alone takes it out within a couple of seconds; after that no
// call fails. (Before: health checks skipped it because its connections were
// all busy, and missed deadlines did not count toward ejection.)
class HungBackend : public ::testing::TestWithParam<bool> {};

TEST_P(HungBackend, IsTakenOutWhileTheSystemIsBusy) {
  const bool health_checks = GetParam();
  TestBackend good;
  asio::io_context ctx;
  asio::ip::tcp::acceptor hung(ctx, {asio::ip::make_address("127.0.0.1"), 0});  // listens, never accepts
  const std::string hung_address = "127.0.0.1:" + std::to_string(hung.local_endpoint().port());
  auto options = quiet_options("static://echo=" + good.address() + "," + hung_address);
  if (health_checks) {
    options.health_check_interval = 300ms;
    options.eject_after = 1'000'000;  // passive ejection out of the way
  }
  Router router(options);
  // Empty until the callers' first call made the system known (stats() has
  // no system before: under ASan the callers may not have begun yet).
  auto hung_backend = [&]() -> std::optional<BackendStats> {
    const auto stats = router.stats();
    if (stats.systems.empty()) return std::nullopt;
    for (const auto& b : stats.systems.front().backends) {
      if (b.address == hung_address) return b;
    }
    return std::nullopt;
  };
  std::atomic<bool> running{true};
  std::atomic<int> late_failures{0}, calls{0};
  std::atomic<std::int64_t> settled_ns{std::numeric_limits<std::int64_t>::max()};
  std::mutex first_late_mutex;
  std::string first_late;  // the first late failure, to tell its cause (seen once in CI, 2026-12-04)
  std::vector<std::thread> callers;
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      while (running) {
        auto start = Clock::now().time_since_epoch().count();
        Reply reply = router.call("echo", 1, "x", CallOptions{.timeout = 300ms});
        ++calls;
        if (!reply.ok() && start > settled_ns && ++late_failures == 1) {  // began after it was taken out
          std::lock_guard lock(first_late_mutex);
          first_late = std::to_string(static_cast<int>(reply.status)) + ": " + reply.payload;
        }
      }
    });
  }
  // Taken out: by its health checks, or by passive ejection.
  bool taken_out = eventually([&] {
    auto stuck = hung_backend();
    return stuck && (health_checks ? !stuck->healthy : stuck->ejections > 0);
  }, 10s);
  settled_ns = Clock::now().time_since_epoch().count();
  std::this_thread::sleep_for(1500ms);
  running = false;
  for (auto& caller : callers) caller.join();
  auto stuck = hung_backend().value_or(BackendStats{});
  std::printf("%s: %d calls, %d of those begun after it was taken out failed; the hung backend: healthy %d, "
              "ejections %llu\n",
              health_checks ? "health checks" : "passive ejection", calls.load(), late_failures.load(),
              stuck.healthy, static_cast<unsigned long long>(stuck.ejections));
  EXPECT_TRUE(taken_out);
  if (health_checks) {
    EXPECT_EQ(late_failures, 0) << "first: " << first_late;
  } else {
    // Each ejection ends with a probe: the calls that reach it then (one per
    // caller, at most) fail before it is ejected again, for longer.
    EXPECT_LE(late_failures, 2 * 8);
  }
}

INSTANTIATE_TEST_SUITE_P(Defences, HungBackend, ::testing::Values(true, false),
                         [](const auto& info) { return info.param ? "HealthChecks" : "PassiveEjection"; });

// A backend not built on our RPC library: it answers ECHO (1) on the line
// protocol but not procedure 0 (neither health checks' pings nor the pings
// that verify answers). Counts the pings it is sent.
class ForeignBackend {
 public:
  ForeignBackend() : acceptor_(ctx_, {asio::ip::make_address("127.0.0.1"), 0}) {
    asio::co_spawn(ctx_, accept(), asio::detached);
    thread_ = std::thread([this] { ctx_.run(); });
  }
  ~ForeignBackend() {
    ctx_.stop();
    thread_.join();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()); }
  int pings() const { return pings_; }

 private:
  asio::awaitable<void> accept() {
    for (;;) {
      auto socket = co_await acceptor_.async_accept(asio::use_awaitable);
      asio::co_spawn(ctx_, serve(std::move(socket)), asio::detached);
    }
  }
  asio::awaitable<void> serve(asio::ip::tcp::socket socket) {
    std::string buffer;
    try {
      for (;;) {
        auto n = co_await asio::async_read_until(socket, asio::dynamic_buffer(buffer), '\n', asio::use_awaitable);
        std::string line = buffer.substr(0, n - 1);
        buffer.erase(0, n);
        std::string answer = line.starts_with("1:") ? "0:" + line.substr(2) + "\n" : "12:unknown procedure\n";
        pings_ += line.starts_with("0:");
        co_await asio::async_write(socket, asio::buffer(answer), asio::use_awaitable);
      }
    } catch (const std::exception&) {
    }
  }

  asio::io_context ctx_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<int> pings_{0};
  std::thread thread_;
};

// CONTRACT section 10: --health-check procedure|tcp|off. A backend that does
// not answer procedure 0 is taken out by the default checks; "tcp" only
// connects and keeps it; "off" sends it nothing.
TEST(Router, HealthChecksCanOnlyConnectForBackendsThatDoNotAnswerPings) {
  for (std::string mode : {"procedure", "tcp", "off"}) {
    ForeignBackend foreign;
    auto options = quiet_options("static://echo=" + foreign.address());
    options.health_check = mode;
    options.health_check_interval = 50ms;
    options.verify_answers = false;  // it would ping behind every request
    Router router(options);
    ASSERT_TRUE(router.call("echo", 1, "hi").ok()) << mode;
    auto healthy = [&] {
      auto stats = router.stats();
      return stats.systems.at(0).backends.at(0).healthy;
    };
    if (mode == "procedure") {
      EXPECT_TRUE(eventually([&] { return !healthy(); }, 5s)) << "a backend that does not answer pings is taken out";
      continue;
    }
    std::this_thread::sleep_for(300ms);  // six intervals
    EXPECT_TRUE(healthy()) << mode;
    EXPECT_TRUE(router.call("echo", 1, "still").ok()) << mode;
    EXPECT_EQ(foreign.pings(), 0) << mode;
  }
}

// Issue 20, finding 4: a backend that sends every 10th answer twice, 2 ms
// later. With answers verified (the default), no call is handed another
// call's answer: the calls that meet a duplicate fail with 14.
struct CrossingCount {
  int calls = 0, wrong = 0, failed = 0;
};

CrossingCount call_a_duplicating_backend(bool verify, bool blocking) {
  DuplicatingBackend backend(10, 2ms);
  auto options = quiet_options("static://echo=" + backend.address());
  options.verify_answers = verify;
  Router router(options);
  CrossingCount count;
  std::mutex mutex;
  auto record = [&](const std::string& sent, const Reply& reply) {
    std::lock_guard lock(mutex);
    ++count.calls;
    if (!reply.ok()) {
      ++count.failed;
    } else if (reply.payload != sent) {
      ++count.wrong;
    }
  };
  constexpr int callers = 4, calls_each = 300;
  if (blocking) {
    std::vector<std::thread> threads;
    for (int t = 0; t < callers; ++t) {
      threads.emplace_back([&, t] {
        for (int n = 0; n < calls_each; ++n) {
          std::string payload = "t" + std::to_string(t) + "-" + std::to_string(n);
          record(payload, router.call("echo", 1, payload, CallOptions{.timeout = 500ms}));
        }
      });
    }
    for (auto& thread : threads) thread.join();
  } else {
    asio::io_context ctx;
    for (int t = 0; t < callers; ++t) {
      asio::co_spawn(ctx, [&, t]() -> asio::awaitable<void> {
        for (int n = 0; n < calls_each; ++n) {
          std::string payload = "c" + std::to_string(t) + "-" + std::to_string(n);
          Reply reply = co_await router.async_call("echo", 1, payload, CallOptions{.timeout = 500ms});
          record(payload, reply);
        }
      }, asio::detached);
    }
    ctx.run();
  }
  return count;
}

TEST(Router, AnswersNeverCrossCallsWhenABackendAnswersTwice) {
  for (bool blocking : {true, false}) {
    auto verified = call_a_duplicating_backend(true, blocking);
    auto unverified = call_a_duplicating_backend(false, blocking);
    std::printf("%s: verified: %d calls, %d wrong, %d failed; unverified: %d calls, %d wrong, %d failed\n",
                blocking ? "blocking" : "async", verified.calls, verified.wrong, verified.failed, unverified.calls,
                unverified.wrong, unverified.failed);
    EXPECT_EQ(verified.wrong, 0) << (blocking ? "blocking" : "async");
    EXPECT_GT(verified.failed, 0) << "the duplicates were not seen";
  }
}

TEST(Router, RejectsBadOptions) {
  EXPECT_THROW(Router(RouterOptions{.discovery = "nope"}), std::invalid_argument);
  EXPECT_THROW(Router(RouterOptions{.discovery = "static://", .strategy = "best"}), std::invalid_argument);
  EXPECT_THROW(Router(RouterOptions{.discovery = "static://", .pool_size = 0}), std::invalid_argument);
  auto adaptive = [](auto change) {
    RouterOptions options{.discovery = "static://"};
    options.adaptive_pool = true;
    change(options);
    return options;
  };
  EXPECT_THROW(Router(adaptive([](RouterOptions& o) { o.adaptive_min_pool = 0; })), std::invalid_argument);
  EXPECT_THROW(Router(adaptive([](RouterOptions& o) { o.adaptive_max_pool = 0; })), std::invalid_argument);
  EXPECT_THROW(Router(adaptive([](RouterOptions& o) { o.adaptive_interval = std::chrono::milliseconds(0); })),
               std::invalid_argument);
  EXPECT_THROW(Router(adaptive([](RouterOptions& o) { o.peak_ewma_decay = std::chrono::milliseconds(0); })),
               std::invalid_argument);
  EXPECT_THROW(Router(adaptive([](RouterOptions& o) { o.slow_start = std::chrono::milliseconds(-1); })),
               std::invalid_argument);
  EXPECT_NO_THROW(Router(adaptive([](RouterOptions&) {})));
}

// Issue 20, finding 7: host names in registrations are looked up off the
// event loop. A name that does not resolve leaves its backend out (STATUS
// says "resolved": false) while calls go to the good one. Where real DNS is
// slow to fail (the red team saw 4 s) this also times the calls; the test
// after it makes the lookup slow on purpose.
TEST(Router, ABackendWhoseNameDoesNotResolveIsLeftOut) {
  TestBackend good;
  auto time_first_calls = [](Router& router) {
    auto start = Clock::now();
    for (int i = 0; i < 20; ++i) {
      Reply reply = router.call("echo", 1, "x");
      EXPECT_TRUE(reply.ok()) << reply.payload;
    }
    return Clock::now() - start;
  };
  Router plain(quiet_options(static_url({&good})));
  auto plain_took = time_first_calls(plain);
  Router router(quiet_options("static://echo=does-not-exist.invalid:7001," + good.address()));
  auto took = time_first_calls(router);
  EXPECT_LT(took, 10 * plain_took + 500ms) << "plain: " << plain_took.count() << " ns";
  auto backends = router.stats().systems.at(0).backends;  // by address: the IP first
  ASSERT_EQ(backends.size(), 2u);
  EXPECT_TRUE(backends[0].resolved);
  EXPECT_EQ(backends[1].address, "does-not-exist.invalid:7001");
  EXPECT_FALSE(backends[1].resolved);
  EXPECT_EQ(backends[1].calls_by_status.size(), 0u);
}

// A lookup that hangs (DNS unreachable) holds no call up: the first calls
// are answered in a small part of the time the lookup is given.
TEST(Router, AHungNameLookupHoldsNoCallUp) {
  TestBackend good;
  auto options = quiet_options("static://echo=hung.example:7001," + good.address());
  options.dns_timeout = 4000ms;
  std::atomic<int> lookups{0};
  std::mutex unanswered_mutex;
  std::vector<core::DnsRefresher::AnswerHandler> unanswered;  // never called: the lookup hangs
  CoreOnAStoppableLoop router(options);  // after them: stopped before they go
  router.core().set_resolve_function([&](const asio::any_io_executor&, const std::string&, std::uint16_t,
                                         core::DnsRefresher::AnswerHandler done) -> std::function<void()> {
    ++lookups;
    std::lock_guard lock(unanswered_mutex);
    unanswered.push_back(std::move(done));
    return {};
  });
  auto start = Clock::now();
  for (int i = 0; i < 20; ++i) {
    auto outcome = router.core().call_blocking("echo", 1, "x", {});
    EXPECT_TRUE(outcome.reply.ok()) << outcome.reply.payload;
  }
  EXPECT_LT(Clock::now() - start, options.dns_timeout / 4);
  EXPECT_EQ(lookups.load(), 1);
  auto backends = router.core().stats().systems.at(0).backends;
  ASSERT_EQ(backends.size(), 2u);
  EXPECT_FALSE(backends[1].resolved);
}

// localhost (from /etc/hosts, no DNS server needed) is looked up off the
// loop too; the system's first calls wait for it rather than failing.
TEST(Router, ABackendRegisteredAsLocalhostIsReached) {
  TestBackend backend;
  auto port = backend.address().substr(backend.address().rfind(':') + 1);
  Router router(quiet_options("static://echo=localhost:" + port));
  for (int i = 0; i < 5; ++i) {
    Reply reply = router.call("echo", 1, "hello");
    ASSERT_TRUE(reply.ok()) << reply.payload;
    EXPECT_EQ(reply.payload, "hello");
  }
  auto backends = router.stats().systems.at(0).backends;
  ASSERT_EQ(backends.size(), 1u);
  EXPECT_TRUE(backends[0].resolved);
  EXPECT_EQ(backends[0].calls_by_status[0], 5u);
}

}  // namespace
}  // namespace routing::test
