// The one attempt loop (routing/call/call_flow.h) step by step, with fake
// connections and pools: the resending rule, the deadline, the bounds and
// the permit, as every mode (routerd, async, blocking) runs them.
#include "routing/call/call_flow_impl.h"
#include "routing/connection_pool_impl.h"

#include "support/fake_connection.h"

#include <gtest/gtest.h>

#include <thread>

namespace routing::core {
// Named (not anonymous): explicit instantiations with these types are
// then used across the file without unused-function warnings.
namespace flow_test {

using test::FakeConnection;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

struct FakePools {
  using Connection = FakeConnection;
  BasicConnectionPool<FakeConnection> pool;
  int rooms_made = 0;

  BasicPooledConnection<FakeConnection> take(Backend& backend, Clock::time_point now) {
    return pool.take(backend, now);
  }
  void give_back(BasicPooledConnection<FakeConnection> connection, Clock::time_point now) {
    pool.give_back(std::move(connection), now);
  }
  void make_room(System& system) {
    ++rooms_made;
    transition(system, nullptr, ConnectionState::closed, ConnectionState::connecting);
  }
};

}  // namespace flow_test

// Instantiated in connection_pool_test.cpp.
extern template class BasicPooledConnection<test::FakeConnection>;
extern template class BasicConnectionPool<test::FakeConnection>;
template class CallFlow<flow_test::FakePools>;

namespace {

using namespace flow_test;
using Flow = CallFlow<FakePools>;
using TheCall = Call<FakeConnection>;

RouterOptions two_slots() {
  RouterOptions options;
  options.pool_size = 2;
  options.max_pending = 1;
  return options;
}

struct CallFlowTest : ::testing::Test {
  CallFlowTest() { system->set_backends({"127.0.0.1:1", "127.0.0.1:2"}); }

  TheCall make_call(CallOptions call_options = {}) {
    TheCall call;
    call.system = system;
    call.procedure = 1;
    call.payload = "hello";
    call.options = call_options;
    call.arrival = Clock::now();
    call.deadline = call_deadline(call.arrival, call_options, options);
    return call;
  }
  // Answers the connect step with a fresh connection.
  Step connect_ok(TheCall& call) { return flow.connected(call, std::make_shared<FakeConnection>(), "", 1s); }
  Step connect_tagged(TheCall& call) {
    auto connection = std::make_shared<FakeConnection>();
    connection->shared = true;
    return flow.connected(call, connection, "", 1s);
  }
  Step connect_refused(TheCall& call) { return flow.connected(call, nullptr, "connection refused", 1s); }
  Step answer(TheCall& call, Reply reply) { return flow.exchanged(call, reply, true, Clock::now()); }
  Step fail(TheCall& call, Status status) {
    Reply reply = Reply::error(status, "broken");
    return flow.exchanged(call, reply, false, Clock::now());
  }

  RouterOptions options = two_slots();
  LiveOptions live{options};
  std::shared_ptr<System> system = std::make_shared<System>("echo", live, Strategy::round_robin);
  FakePools pools;
  Flow flow{pools, options};
};

TEST_F(CallFlowTest, AFirstCallConnectsExchangesAndPoolsItsConnection) {
  system->set_backends({"127.0.0.1:1"});
  auto call = make_call();
  ASSERT_EQ(flow.start(call), Step::connect);
  EXPECT_EQ(pools.rooms_made, 1);
  EXPECT_EQ(system->limiter.in_use(), 1u);  // the permit is held across the attempt
  ASSERT_EQ(connect_ok(call), Step::exchange);
  ASSERT_EQ(answer(call, Reply{Status::ok, "hi"}), Step::finished);
  EXPECT_TRUE(call.outcome.from_backend);
  EXPECT_EQ(call.outcome.reply.payload, "hi");
  EXPECT_EQ(system->limiter.in_use(), 0u);  // released before the caller hears
  EXPECT_EQ(system->open_connections.load(), 1u);  // idle in the pool

  auto next = make_call();
  EXPECT_EQ(flow.start(next), Step::exchange);  // the idle one, no connect
}

TEST_F(CallFlowTest, ABackendsOwnErrorStatusIsAnAnswer) {
  auto call = make_call();
  flow.start(call);
  connect_ok(call);
  ASSERT_EQ(answer(call, Reply{Status::unimplemented, "unknown procedure 1"}), Step::finished);
  EXPECT_TRUE(call.outcome.from_backend);
  EXPECT_EQ(call.outcome.reply.status, Status::unimplemented);
  EXPECT_EQ(system->retries.load(), 0u);
}

TEST_F(CallFlowTest, AFailedConnectIsResentToAnotherBackend) {
  auto call = make_call();
  flow.start(call);
  auto first = call.backend;
  ASSERT_EQ(connect_refused(call), Step::connect);  // not sent: another backend
  EXPECT_NE(call.backend, first);
  EXPECT_EQ(system->open_connections.load(), 1u);  // the first slot was given back
  ASSERT_EQ(connect_refused(call), Step::finished);  // none left
  EXPECT_EQ(call.outcome.reply.status, Status::unavailable);
  EXPECT_NE(call.outcome.reply.payload.find("connection refused"), std::string::npos);
  EXPECT_EQ(system->open_connections.load(), 0u);
  EXPECT_EQ(system->limiter.in_use(), 0u);
}

TEST_F(CallFlowTest, AFailureAfterSendingIsNotResentUnlessIdempotent) {
  auto call = make_call();
  flow.start(call);
  connect_ok(call);
  ASSERT_EQ(fail(call, Status::unavailable), Step::finished);
  EXPECT_EQ(call.outcome.reply.status, Status::unavailable);
  EXPECT_FALSE(call.outcome.from_backend);
  EXPECT_EQ(system->open_connections.load(), 0u);  // a connection that failed is closed

  auto idempotent = make_call(CallOptions{.timeout = {}, .idempotent = true});
  flow.start(idempotent);
  connect_ok(idempotent);
  ASSERT_EQ(fail(idempotent, Status::unavailable), Step::connect);  // resent once
  connect_ok(idempotent);
  ASSERT_EQ(fail(idempotent, Status::unavailable), Step::finished);  // not twice
  EXPECT_EQ(system->retries.load(), 1u);
}

// A backend that answers 14 on a tagged connection could not serve the call
// (e.g. it cut the call as it stopped): an idempotent call goes to another
// backend; any other call, and any 14 on the line protocol, is the
// backend's answer.
TEST_F(CallFlowTest, ABackendsAnswer14IsTheAnswerOfANonIdempotentCall) {
  auto call = make_call();
  ASSERT_EQ(flow.start(call), Step::connect);
  ASSERT_EQ(connect_tagged(call), Step::exchange);
  ASSERT_EQ(answer(call, Reply{Status::unavailable, "cut at the server's drain timeout"}), Step::finished);
  EXPECT_EQ(call.outcome.reply.payload, "cut at the server's drain timeout");
  EXPECT_TRUE(call.outcome.from_backend);
  EXPECT_EQ(system->retries.load(), 0u);
}

TEST_F(CallFlowTest, ABackendsAnswer14OnTheLineProtocolIsTheAnswer) {
  auto call = make_call(CallOptions{.timeout = {}, .idempotent = true});
  ASSERT_EQ(flow.start(call), Step::connect);
  ASSERT_EQ(connect_ok(call), Step::exchange);
  ASSERT_EQ(answer(call, Reply{Status::unavailable, "dependency down"}), Step::finished);
  EXPECT_TRUE(call.outcome.from_backend);
  EXPECT_EQ(system->retries.load(), 0u);
}

TEST_F(CallFlowTest, AnIdempotentCallAnswered14OnATaggedConnectionIsResentOnce) {
  auto call = make_call(CallOptions{.timeout = {}, .idempotent = true});
  ASSERT_EQ(flow.start(call), Step::connect);
  auto first = call.backend;
  ASSERT_EQ(connect_tagged(call), Step::exchange);
  ASSERT_EQ(answer(call, Reply{Status::unavailable, "stopping"}), Step::connect);  // to the other backend
  EXPECT_NE(call.backend, first);
  ASSERT_EQ(connect_tagged(call), Step::exchange);
  ASSERT_EQ(answer(call, Reply{Status::ok, "done"}), Step::finished);
  EXPECT_EQ(call.outcome.reply.payload, "done");
  EXPECT_EQ(system->retries.load(), 1u);
}

TEST_F(CallFlowTest, TheDeadlineEndsTheCallWithoutAResend) {
  auto call = make_call(CallOptions{.timeout = {}, .idempotent = true});
  flow.start(call);
  connect_ok(call);
  ASSERT_EQ(fail(call, Status::deadline_exceeded), Step::finished);
  EXPECT_EQ(call.outcome.reply.status, Status::deadline_exceeded);
  EXPECT_EQ(system->retries.load(), 0u);
}

// The deadline travels to a tagged backend, which gives up at it and answers
// 4: arriving after the call's deadline, that answer is the router's own
// deadline (as when the router's timer fires first); arriving before it, it
// is the backend's answer.
TEST_F(CallFlowTest, ABackends4PastTheDeadlineIsTheCallsDeadline) {
  auto call = make_call(CallOptions{.timeout = 1ms, .idempotent = false});
  flow.start(call);
  connect_tagged(call);
  std::this_thread::sleep_until(call.deadline);
  ASSERT_EQ(answer(call, Reply{Status::deadline_exceeded, "deadline exceeded"}), Step::finished);
  EXPECT_EQ(call.outcome.reply.status, Status::deadline_exceeded);
  EXPECT_FALSE(call.outcome.from_backend);
  EXPECT_NE(call.outcome.reply.payload.find("deadline exceeded calling"), std::string::npos);
  EXPECT_EQ(system->open_connections.load(), 1u);  // the answer arrived: the connection serves on

  auto early = make_call();
  if (flow.start(early) == Step::connect) connect_tagged(early);
  ASSERT_EQ(answer(early, Reply{Status::deadline_exceeded, "cannot finish in time"}), Step::finished);
  EXPECT_TRUE(early.outcome.from_backend);
  EXPECT_EQ(early.outcome.reply.payload, "cannot finish in time");
}

TEST_F(CallFlowTest, CallsPastThePoolWaitAndPastMaxPendingAreRefused) {
  auto one = make_call(), two = make_call(), three = make_call();
  flow.start(one);
  flow.start(two);
  ASSERT_EQ(flow.start(three), Step::wait_for_permit);
  Permit none;
  ASSERT_EQ(flow.permit_waited(three, ConcurrencyLimiter::Outcome::queue_full, none), Step::finished);
  EXPECT_EQ(three.outcome.reply.status, Status::resource_exhausted);
  auto four = make_call();
  ASSERT_EQ(flow.start(four), Step::wait_for_permit);
  ASSERT_EQ(flow.permit_waited(four, ConcurrencyLimiter::Outcome::timed_out, none), Step::finished);
  EXPECT_EQ(four.outcome.reply.status, Status::deadline_exceeded);
}

// Early shedding (routing/admission.h): with every slot taken and calls
// known to hold a slot 100 ms, a call with 120 ms left cannot get a slot
// (50 ms: two slots, one place) and its answer in time: 8 at once, nothing
// queued. One with time enough waits as before.
TEST_F(CallFlowTest, ACallTheQueueWouldServeTooLateIsRefusedAtOnce) {
  system->admission.note_hold(100ms);
  system->admission.note_wait(50ms, 0);  // the queue moves a place every 50 ms
  system->admission.note_late(Clock::now());  // and has let a deadline pass: overload
  auto one = make_call(), two = make_call();
  flow.start(one);
  flow.start(two);
  auto late = make_call(CallOptions{.timeout = 120ms});
  ASSERT_EQ(flow.start(late), Step::finished);
  EXPECT_EQ(late.outcome.reply.status, Status::resource_exhausted);
  EXPECT_FALSE(late.outcome.from_backend);
  EXPECT_NE(late.outcome.reply.payload.find("'echo' is overloaded"), std::string::npos) << late.outcome.reply.payload;
  EXPECT_EQ(system->admission.shed.load(), 1u);
  EXPECT_EQ(system->limiter.in_use(), 2u);
  auto patient = make_call(CallOptions{.timeout = 1s});
  EXPECT_EQ(flow.start(patient), Step::wait_for_permit);
  Permit none;
  flow.permit_waited(patient, ConcurrencyLimiter::Outcome::timed_out, none);
  EXPECT_EQ(system->stats().queue_wait.count, 2u);  // its wait is measured (and note_wait's above)
  EXPECT_EQ(system->stats().shed, 1u);
}

// A permit that comes with less than a mean hold left: the call is not
// sent (its answer would most likely come too late), 4, and the permit
// goes on to the next call.
TEST_F(CallFlowTest, APermitThatComesTooLateIsNotUsed) {
  system->admission.note_hold(100ms);
  system->admission.note_late(Clock::now());  // under overload
  auto one = make_call(), two = make_call();
  flow.start(one);
  flow.start(two);
  auto waiting = make_call(CallOptions{.timeout = 1s});
  ASSERT_EQ(flow.start(waiting), Step::wait_for_permit);
  waiting.deadline = Clock::now() + 50ms;  // as if it had waited 950 ms
  Permit permit;
  one.permit.release();  // as when `one` ends: the limiter grants its slot
  ASSERT_TRUE(system->limiter.try_acquire(permit));
  ASSERT_EQ(flow.permit_waited(waiting, ConcurrencyLimiter::Outcome::acquired, permit), Step::finished);
  EXPECT_EQ(waiting.outcome.reply.status, Status::deadline_exceeded);
  EXPECT_NE(waiting.outcome.reply.payload.find("not sent"), std::string::npos) << waiting.outcome.reply.payload;
  EXPECT_EQ(system->limiter.in_use(), 1u);  // the slot it was given is free again
  EXPECT_EQ(pools.rooms_made, 2);           // nothing connected for it
}

// Makes every backend's adaptive limit one held at capacity: a window at
// 100 ms, then one at 200 ms, both with the limit reached.
void find_capacity(System& system) {
  for (const auto& backend : system.backends()->backends) {
    std::lock_guard lock(backend->adaptive_mutex);
    for (auto latency : {100ms, 200ms}) {
      backend->adaptive.update({.length = 100ms, .arrivals = 10, .completions = 10, .latency_sum = 10 * latency,
                                .reached_limit = true},
                               Clock::now().time_since_epoch());
    }
  }
  system.update_limits(100ms, Clock::now());  // quiet windows: the limits stay as found
}

// With adaptive pools held at capacity, a call queues for at most about a
// quarter of a mean hold, however long its deadline: with 8 slots of 100 ms
// calls the queue moves a place every 12.5 ms, so two may wait and the third
// is refused. While the limits are still growing (no capacity found), it
// would have waited, and so it would without overload (a closed loop of
// callers that merely queue).
TEST_F(CallFlowTest, AdaptivePoolsAtCapacityQueueAtMostAQuarterOfAMeanHold) {
  options.adaptive_pool = true;
  options.max_pending = 10;
  live.replace(options);
  EXPECT_FALSE(system->max_queue_wait(Clock::now()));
  find_capacity(*system);
  EXPECT_FALSE(system->max_queue_wait(Clock::now()));  // at capacity, but nobody was refused: no overload
  system->admission.note_late(Clock::now());
  ASSERT_TRUE(system->max_queue_wait(Clock::now()));
  EXPECT_FALSE(system->max_queue_wait(Clock::now() + 2s));  // overload is remembered for a second
  system->limiter.set_limit(8);
  system->limiter.set_max_pending(10);
  system->admission.note_hold(100ms);
  system->admission.note_wait(100ms, 7);  // a place every 12.5 ms
  std::vector<TheCall> running;
  running.reserve(8);
  for (int i = 0; i < 8; ++i) {
    running.push_back(make_call());
    ASSERT_NE(flow.start(running.back()), Step::wait_for_permit);
  }
  std::vector<std::shared_ptr<ConcurrencyLimiter::Waiter>> queued;
  for (int i = 0; i < 2; ++i) {
    auto call = make_call(CallOptions{.timeout = 5s});
    ASSERT_EQ(flow.start(call), Step::wait_for_permit);
    queued.push_back(system->limiter.enqueue_handed([](Permit&) {}));  // as the adapter would
  }
  auto third = make_call(CallOptions{.timeout = 5s});
  ASSERT_EQ(flow.start(third), Step::finished);
  EXPECT_EQ(third.outcome.reply.status, Status::resource_exhausted);
  EXPECT_NE(third.outcome.reply.payload.find("calls wait at most about 25 ms"), std::string::npos)
      << third.outcome.reply.payload;
  for (auto& waiter : queued) system->limiter.cancel(waiter);
}

TEST_F(CallFlowTest, WaitsForDiscoveryFirstAndAnswersNotFoundWithoutInstances) {
  auto unknown = std::make_shared<System>("ghost", live, Strategy::round_robin);
  auto call = make_call();
  call.system = unknown;
  ASSERT_EQ(flow.start(call), Step::learn_backends);
  unknown->set_backends(std::vector<std::string>{});
  ASSERT_EQ(flow.backends_learned(call, std::nullopt), Step::finished);
  EXPECT_EQ(call.outcome.reply.status, Status::not_found);
  EXPECT_EQ(unknown->limiter.in_use(), 0u);  // no permit was taken

  auto failed = make_call();
  failed.system = std::make_shared<System>("down", live, Strategy::round_robin);
  flow.start(failed);
  ASSERT_EQ(flow.backends_learned(failed, Reply::error(Status::unavailable, "discovery down")), Step::finished);
  EXPECT_EQ(failed.outcome.reply.status, Status::unavailable);
}

TEST_F(CallFlowTest, EveryOutcomeIsCounted) {
  auto call = make_call();
  flow.start(call);
  connect_ok(call);
  answer(call, Reply{Status::ok, ""});
  auto refused = make_call();
  flow.start(refused);
  connect_refused(refused);
  connect_refused(refused);
  auto stats = system->stats();
  std::uint64_t counted = 0;
  for (auto [status, count] : stats.calls_by_status) counted += count;
  EXPECT_EQ(counted, 2u);
}

}  // namespace
}  // namespace routing::core
