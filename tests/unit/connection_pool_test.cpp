// The connection pool's state machine (connection_state.h) with a fake
// connection: every transition keeps the counters the bound and the figures
// read, idle connections are reused oldest first and checked before reuse,
// and what must not be pooled is closed.
#include "routing/connection_pool_impl.h"

#include "support/fake_connection.h"

#include <gtest/gtest.h>

#include <vector>

namespace routing::core {
// Named (not anonymous): explicit instantiations with these types are
// then used across the file without unused-function warnings.
namespace pool_test {

using test::FakeConnection;

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

}  // namespace pool_test

template class BasicPooledConnection<test::FakeConnection>;
template class BasicConnectionPool<test::FakeConnection>;

namespace {

using namespace pool_test;
using Pooled = BasicPooledConnection<FakeConnection>;
using Pool = BasicConnectionPool<FakeConnection>;

struct PoolTest : ::testing::Test {
  PoolTest() {
    system.set_backends({"127.0.0.1:1", "127.0.0.1:2"});
    a = system.backends()->backends[0];
    b = system.backends()->backends[1];
  }
  // A connection as the call flow makes one: a slot, then connected.
  std::shared_ptr<FakeConnection> open(const std::shared_ptr<Backend>& backend, Pooled& out) {
    transition(system, nullptr, ConnectionState::closed, ConnectionState::connecting);
    auto fake = std::make_shared<FakeConnection>(FakeConnection{++made});
    out = Pooled(fake, backend);
    return fake;
  }
  std::size_t system_open() const { return system.open_connections.load(); }

  RouterOptions options = [] {
    RouterOptions o;
    o.pool_size = 3;
    return o;
  }();
  LiveOptions live{options};
  System system{"echo", live, Strategy::round_robin};
  std::shared_ptr<Backend> a, b;
  Pool pool;
  int made = 0;
  Clock::time_point t0 = Clock::now();
};

TEST_F(PoolTest, CountsFollowEveryTransition) {
  Pooled in_use;
  open(a, in_use);
  EXPECT_EQ(system_open(), 1u);
  EXPECT_EQ(a->open_connections.load(), 1u);
  EXPECT_EQ(a->idle_connections.load(), 0u);
  pool.give_back(std::move(in_use), t0);
  EXPECT_EQ(a->idle_connections.load(), 1u);
  EXPECT_EQ(a->open_connections.load(), 1u);
  Pooled again = pool.take(*a, t0 + 1ms);
  ASSERT_TRUE(again);
  EXPECT_EQ(a->idle_connections.load(), 0u);
  again.close();
  EXPECT_EQ(system_open(), 0u);
  EXPECT_EQ(a->open_connections.load(), 0u);
}

TEST_F(PoolTest, ReusesIdleConnectionsOldestFirst) {
  Pooled first, second;
  open(a, first);
  open(a, second);
  pool.give_back(std::move(second), t0);       // id 2 idles first
  pool.give_back(std::move(first), t0 + 1ms);  // id 1 later
  EXPECT_EQ(pool.take(*a, t0 + 2ms).connection().id, 2);
  EXPECT_EQ(pool.take(*a, t0 + 2ms).connection().id, 1);
  EXPECT_FALSE(pool.take(*a, t0 + 2ms));
  EXPECT_FALSE(pool.take(*b, t0 + 2ms));  // per backend
}

TEST_F(PoolTest, PeeksAtConnectionsIdleLongerThanTheTrustWindowAndDropsDeadOnes) {
  Pooled one, two;
  auto fake1 = open(a, one);
  auto fake2 = open(a, two);
  pool.give_back(std::move(one), t0);
  pool.give_back(std::move(two), t0);
  fake1->peer_open = false;  // the backend closed it while it idled
  Pooled taken = pool.take(*a, t0 + 50ms);
  ASSERT_TRUE(taken);
  EXPECT_EQ(taken.connection().id, 2);
  EXPECT_EQ(fake1->peeks, 1);
  EXPECT_FALSE(fake1->open);  // dropped and closed
  EXPECT_EQ(system_open(), 1u);
}

TEST_F(PoolTest, TrustsARecentlyUsedConnectionUnlessItsBackendFailedSince) {
  Pooled one;
  auto fake = open(a, one);
  pool.give_back(std::move(one), t0);
  Pooled taken = pool.take(*a, t0 + 1ms);
  EXPECT_EQ(fake->peeks, 0);  // within the trust window: no peek
  pool.give_back(std::move(taken), t0 + 1ms);
  a->failed_attempts.fetch_add(1);  // a call to that backend failed meanwhile
  taken = pool.take(*a, t0 + 2ms);
  EXPECT_EQ(fake->peeks, 1);
}

// The race behind a flaky count of failures when a backend is killed under
// load: a call answered just before the backend died gives its connection
// back only after another call on that backend failed (its thread was
// descheduled). Pooled "now", it must still not be trusted: its use began
// before the failure.
TEST_F(PoolTest, DoesNotTrustAConnectionWhoseUseBeganBeforeItsBackendFailed) {
  Pooled one;
  auto fake = open(a, one);
  pool.give_back(std::move(one), t0);
  Pooled taken = pool.take(*a, t0 + 1ms);  // its use begins
  a->failed_attempts.fetch_add(1);         // another call to the backend fails
  pool.give_back(std::move(taken), t0 + 1ms);
  taken = pool.take(*a, t0 + 1ms);
  EXPECT_EQ(fake->peeks, 1);
  // A use that began after the failure is trusted again (the backend answered it).
  pool.give_back(std::move(taken), t0 + 1ms);
  taken = pool.take(*a, t0 + 1ms);
  EXPECT_EQ(fake->peeks, 1);
}

TEST_F(PoolTest, ClosesInsteadOfPoolingWhatMustDrain) {
  Pooled broken, removed_backend, fine;
  auto fake = open(a, broken);
  fake->open = false;
  pool.give_back(std::move(broken), t0);
  EXPECT_EQ(system_open(), 0u);  // broken: closed
  open(b, removed_backend);
  b->removed = true;  // left discovery while in use
  pool.give_back(std::move(removed_backend), t0);
  EXPECT_EQ(b->open_connections.load(), 0u);
  open(a, fine);
  pool.close_all();
  pool.give_back(std::move(fine), t0);  // the pool closed while it was in use
  EXPECT_EQ(system_open(), 0u);
}

TEST_F(PoolTest, ClosesWhatComesBackOverTheBound) {
  Pooled held[3];
  for (auto& each : held) open(a, each);
  // Another worker made room by asking this one to close an idle connection
  // it did not have: the system is one over.
  transition(system, nullptr, ConnectionState::closed, ConnectionState::connecting);
  pool.give_back(std::move(held[0]), t0);
  EXPECT_EQ(a->idle_connections.load(), 0u);
  EXPECT_EQ(system_open(), 3u);  // 2 in use + the slot taken
}

TEST_F(PoolTest, EvictsTheOldestIdleConnectionOfTheSystem) {
  Pooled old_b, young_a;
  auto fake_b = open(b, old_b);
  open(a, young_a);
  pool.give_back(std::move(old_b), t0);
  pool.give_back(std::move(young_a), t0 + 5ms);
  EXPECT_TRUE(pool.evict_one(system));
  EXPECT_FALSE(fake_b->open);
  EXPECT_EQ(b->open_connections.load(), 0u);
  EXPECT_EQ(a->idle_connections.load(), 1u);
  EXPECT_TRUE(pool.evict_one(system));
  EXPECT_FALSE(pool.evict_one(system));
  EXPECT_EQ(system_open(), 0u);
}

TEST_F(PoolTest, SweepClosesWhatIdledPastTheTimeoutAndWhatLostItsBackend) {
  Pooled stale, fresh, gone;
  open(a, stale);
  open(a, fresh);
  open(b, gone);
  auto now = Clock::now();
  pool.give_back(std::move(stale), now - 2s);
  pool.give_back(std::move(fresh), now);
  pool.give_back(std::move(gone), now);
  b->removed = true;
  pool.sweep(1000ms);
  EXPECT_EQ(a->idle_connections.load(), 1u);
  EXPECT_EQ(b->open_connections.load(), 0u);
  EXPECT_EQ(system_open(), 1u);
}

TEST_F(PoolTest, ABorrowedConnectionKeepsItsPlaceAndIdleTime) {
  Pooled old, young;
  open(a, old);
  open(a, young);
  auto now = Clock::now();
  pool.give_back(std::move(old), now - 2s);
  pool.give_back(std::move(young), now);
  auto borrowed = pool.borrow_oldest(*a);
  ASSERT_TRUE(borrowed);
  EXPECT_EQ(borrowed->connection.connection().id, 1);
  EXPECT_EQ(a->idle_connections.load(), 1u);
  pool.put_back(std::move(*borrowed));  // as a health check does
  EXPECT_EQ(a->idle_connections.load(), 2u);
  pool.sweep(1000ms);  // the borrowed one still idled for 2 s: it goes
  EXPECT_EQ(a->idle_connections.load(), 1u);
  EXPECT_EQ(pool.take(*a, now).connection().id, 2);
}

// Tagged connections are shared: given back after their first call they
// stay in the pool and are lent to up to calls_per_connection calls at once
// (the busiest below that first), counted once; at the system's bound the
// least loaded takes one more; one that closed is dropped when its lease
// comes back.
TEST_F(PoolTest, SharesTaggedConnectionsUpToCallsPerConnection) {
  Pooled first;
  auto one = open(a, first);
  one->shared = true;
  pool.give_back(std::move(first), t0);
  EXPECT_EQ(system_open(), 1u);
  EXPECT_EQ(a->idle_connections.load(), 0u);  // shared: in use, not idle

  Pooled lease = pool.take(*a, t0, 2);
  ASSERT_TRUE(lease);
  EXPECT_TRUE(lease.is_lease());
  EXPECT_EQ(&lease.connection(), one.get());
  one->calls = 2;                          // at the target: no more leases of it
  EXPECT_FALSE(pool.take(*a, t0, 2));      // below the bound (3): the caller makes another

  Pooled second, third;
  auto two = open(a, second);
  open(b, third);                          // the system is at its bound now
  two->shared = true;
  pool.give_back(std::move(second), t0);
  two->calls = 1;
  EXPECT_EQ(&pool.take(*a, t0, 2).connection(), two.get());  // the one below the target
  one->calls = 3;
  two->calls = 2;
  EXPECT_EQ(&pool.take(*a, t0, 2).connection(), two.get());  // at the bound: the least loaded
  EXPECT_EQ(system_open(), 3u);            // leases are never counted

  one->calls = 1;
  one->open = false;                       // it failed
  lease.close();                           // a lease lets go only; the pool drops the dead one when asked
  one->calls = 0;
  two->calls = 1;
  Pooled back = pool.take(*a, t0, 2);
  ASSERT_TRUE(back);
  EXPECT_EQ(&back.connection(), two.get());
  EXPECT_EQ(system_open(), 2u);            // the dead shared connection was closed and uncounted
}

// A pool that goes away with shared connections still carrying calls
// leaves their backend's count of shared connections right (it is read by
// the aperture's spare-connection preference).
TEST_F(PoolTest, APoolGoneWithCallsOnItsSharedConnectionsUncountsThem) {
  auto gone = std::make_unique<Pool>();
  Pooled first;
  auto one = open(a, first);
  one->shared = true;
  gone->give_back(std::move(first), t0);
  EXPECT_EQ(a->shared_connections.load(), 1u);
  one->calls = 1;  // a call still on it
  gone.reset();
  EXPECT_EQ(a->shared_connections.load(), 0u);
}

// A lease peeks at most at the connection it lends, and only when that one
// has been quiet past the trust window: with many quiet shared connections
// (a burst opened them), peeking at each on every call cost one syscall per
// connection per call (a 4x slowdown at 64 TLS connections).
TEST_F(PoolTest, ALeasePeeksOnlyAtTheQuietConnectionItLends) {
  system.limiter.set_limit(100);  // room for 20 connections
  std::vector<std::shared_ptr<FakeConnection>> fakes;
  for (int i = 0; i < 20; ++i) {
    Pooled made_one;
    auto fake = open(a, made_one);
    fake->shared = true;
    pool.give_back(std::move(made_one), t0);
    fakes.push_back(fake);
  }
  fakes[7]->calls = 1;  // the busiest below the target: lent without a peek
  const auto later = t0 + 1s;
  for (int call = 0; call < 10; ++call) {
    Pooled lease = pool.take(*a, later, 8);
    ASSERT_TRUE(lease);
    EXPECT_EQ(&lease.connection(), fakes[7].get());
  }
  int peeks = 0;
  for (const auto& fake : fakes) peeks += fake->peeks;
  EXPECT_EQ(peeks, 0);

  // All quiet: the one chosen is peeked at; found dead, it is closed and
  // another is chosen (and peeked at) in its place.
  fakes[7]->calls = 0;
  fakes[0]->peer_open = false;  // the first of equals is chosen first
  Pooled lease = pool.take(*a, later, 8);
  ASSERT_TRUE(lease);
  EXPECT_NE(&lease.connection(), fakes[0].get());
  EXPECT_FALSE(fakes[0]->open);
  peeks = 0;
  for (const auto& fake : fakes) peeks += fake->peeks;
  EXPECT_LE(peeks, 2);
}

}  // namespace
}  // namespace routing::core
