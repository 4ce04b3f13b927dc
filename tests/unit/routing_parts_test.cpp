// The router's pure parts: strategies, retry budget, passive ejection,
// histogram, and the limiter on a single event loop.
#include "routing/histogram.h"
#include "routing/limiter.h"
#include "routing/outlier.h"
#include "routing/peak_ewma.h"
#include "routing/retry_budget.h"
#include "routing/strategy.h"
#include "routing/zone_capacity.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <mutex>
#include <thread>

namespace routing::core {
namespace {

using namespace std::chrono_literals;
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// Candidates with these calls in flight (and no latency estimate).
std::vector<Candidate> loads(std::initializer_list<std::size_t> in_flight) {
  std::vector<Candidate> out;
  for (auto n : in_flight) out.push_back(Candidate{static_cast<std::uint32_t>(n), 100, 0});
  return out;
}

// Idle candidates of these weights.
std::vector<Candidate> weighted(std::initializer_list<std::uint32_t> weights) {
  std::vector<Candidate> out;
  for (auto w : weights) out.push_back(Candidate{0, w, 0});
  return out;
}

// How many of `n` picks each candidate gets, the candidates idle throughout.
std::vector<int> shares(Strategy strategy, const std::vector<Candidate>& candidates, int n) {
  std::mt19937_64 rng(11);
  std::vector<int> hits(candidates.size());
  for (int i = 0; i < n; ++i) ++hits[pick_backend(strategy, candidates, static_cast<std::uint64_t>(i), rng)];
  return hits;
}

TEST(Strategy, ParsesAndNamesEveryStrategy) {
  for (const char* name : {"round-robin", "random", "least-connections", "pick-2", "peak-ewma"}) {
    auto parsed = parse_strategy(name);
    ASSERT_TRUE(parsed) << name;
    EXPECT_EQ(strategy_name(*parsed), name);
  }
  EXPECT_FALSE(parse_strategy("Round-Robin"));
  EXPECT_FALSE(parse_strategy(""));
}

TEST(Strategy, RoundRobinFollowsTheTicket) {
  std::mt19937_64 rng(1);
  auto load = loads({5, 0, 9});
  for (std::uint64_t t = 0; t < 9; ++t) EXPECT_EQ(pick_backend(Strategy::round_robin, load, t, rng), t % 3);
}

TEST(Strategy, LeastConnectionsPicksTheLeastLoadedAndSpreadsTies) {
  std::mt19937_64 rng(1);
  auto load = loads({3, 1, 2});
  for (std::uint64_t t = 0; t < 6; ++t) EXPECT_EQ(pick_backend(Strategy::least_connections, load, t, rng), 1u);
  auto ties = loads({0, 0, 0});
  std::set<std::size_t> picked;
  for (std::uint64_t t = 0; t < 3; ++t) picked.insert(pick_backend(Strategy::least_connections, ties, t, rng));
  EXPECT_EQ(picked.size(), 3u);
}

TEST(Strategy, PickTwoNeverChoosesTheMostLoadedOfTwo) {
  std::mt19937_64 rng(7);
  auto load = loads({10, 0});
  for (int i = 0; i < 100; ++i) EXPECT_EQ(pick_backend(Strategy::pick_two, load, i, rng), 1u);
  // Among many, the most loaded one is never picked (it always loses its pair).
  auto many = loads({1, 1, 1, 50, 1});
  for (int i = 0; i < 1000; ++i) EXPECT_NE(pick_backend(Strategy::pick_two, many, i, rng), 3u);
}

TEST(Strategy, RandomCoversEveryBackend) {
  std::mt19937_64 rng(3);
  auto load = loads({0, 0, 0, 0});
  std::vector<int> hits(4);
  for (int i = 0; i < 4000; ++i) ++hits[pick_backend(Strategy::random, load, 0, rng)];
  for (int h : hits) EXPECT_GT(h, 800);
}

TEST(Strategy, EveryStrategyHandsOutCallsOneAtATimeInProportionToWeight) {
  auto candidates = weighted({100, 300, 600});  // idle: calls one at a time
  for (auto strategy : {Strategy::round_robin, Strategy::random, Strategy::least_connections, Strategy::pick_two,
                        Strategy::peak_ewma}) {
    auto hits = shares(strategy, candidates, 10'000);
    EXPECT_NEAR(hits[0], 1000, 150) << strategy_name(strategy);
    EXPECT_NEAR(hits[1], 3000, 200) << strategy_name(strategy);
    EXPECT_NEAR(hits[2], 6000, 200) << strategy_name(strategy);
  }
  // Round-robin spreads a heavy backend's turns: in any 10 consecutive
  // tickets the light one (a tenth of the weight) gets 0..2, never a run.
  std::mt19937_64 rng(1);
  for (std::uint64_t start = 0; start < 1000; start += 10) {
    int light = 0;
    for (std::uint64_t t = start; t < start + 10; ++t) light += pick_backend(Strategy::round_robin, candidates, t, rng) == 0;
    EXPECT_LE(light, 2) << start;
  }
}

TEST(Strategy, ComparingStrategiesWeighLoadPerUnitOfWeight) {
  std::mt19937_64 rng(2);
  // 3 calls on weight 400 ((3+1)/400) is lighter than 1 call on weight 100 ((1+1)/100).
  std::vector<Candidate> two{{3, 400, 0}, {1, 100, 0}};
  for (auto strategy : {Strategy::least_connections, Strategy::pick_two, Strategy::peak_ewma}) {
    for (int i = 0; i < 50; ++i) EXPECT_EQ(pick_backend(strategy, two, i, rng), 0u) << strategy_name(strategy);
  }
  // Equal latency estimates: peak-ewma's cost per unit of weight decides too.
  std::vector<Candidate> estimated{{3, 400, 1e6}, {1, 100, 1e6}};
  for (int i = 0; i < 50; ++i) EXPECT_EQ(pick_backend(Strategy::peak_ewma, estimated, i, rng), 0u);
}

TEST(Strategy, TheTwoChoicesAreDrawnByWeight) {
  std::mt19937_64 rng(4);
  auto candidates = weighted({10, 10, 980});
  int heavy_drawn = 0;
  for (int i = 0; i < 1000; ++i) {
    auto [a, b] = draw_two(candidates, rng, weights_differ(candidates));
    ASSERT_NE(a, b);
    heavy_drawn += a == 2 || b == 2;
  }
  EXPECT_GT(heavy_drawn, 950);  // by weight nearly always; uniformly two thirds of the time
}

TEST(Strategy, PeakEwmaWeighsLatencyByCallsInFlight) {
  std::mt19937_64 rng(5);
  // 1 ms × (2 + 1) = 3 beats 5 ms × (0 + 1) = 5: the fast one, though busier.
  std::vector<Candidate> two{{2, 100, 1e6}, {0, 100, 5e6}};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(pick_backend(Strategy::peak_ewma, two, i, rng), 0u);
  // Busy enough, the fast one loses: 1 ms × 6 > 5 ms × 1.
  two[0].in_flight = 5;
  for (int i = 0; i < 100; ++i) EXPECT_EQ(pick_backend(Strategy::peak_ewma, two, i, rng), 1u);
  // Without an estimate, calls in flight decide (as pick-2).
  std::vector<Candidate> unknown{{3, 100, 0}, {1, 100, 5e6}};
  for (int i = 0; i < 100; ++i) EXPECT_EQ(pick_backend(Strategy::peak_ewma, unknown, i, rng), 1u);
}

TEST(ZoneCapacity, KeepsCallsNearUntilTheZoneLacksCapacityThenSpillsInProportion) {
  auto share = [](std::initializer_list<std::pair<std::uint32_t, bool>> near, bool remote) {
    ZoneCapacity zone;
    for (auto [weight, available] : near) zone.count(true, weight, available);
    if (remote) zone.count(false, 100, true);
    return zone;
  };
  EXPECT_FALSE(share({{100, true}}, false).has_remote);
  EXPECT_DOUBLE_EQ(share({{100, true}, {100, true}, {100, true}}, true).near_share(), 1.0);
  // One of five lost: 1.4 × 4/5 > 1, the zone's headroom absorbs it.
  EXPECT_DOUBLE_EQ(share({{100, true}, {100, true}, {100, true}, {100, true}, {100, false}}, true).near_share(), 1.0);
  // One of three lost (past the 29% the headroom covers): 1.4 × 2/3 stay.
  EXPECT_NEAR(share({{100, true}, {100, true}, {100, false}}, true).near_share(), 2.8 / 3, 1e-9);
  // Two of three lost: 1.4 × 1/3 of the calls stay, the rest spill.
  EXPECT_NEAR(share({{100, true}, {100, false}, {100, false}}, true).near_share(), 1.4 / 3, 1e-9);
  // By weight, not by count: the one left is a tenth of the zone.
  EXPECT_NEAR(share({{100, true}, {900, false}}, true).near_share(), 0.14, 1e-9);
  EXPECT_DOUBLE_EQ(share({{100, false}}, true).near_share(), 0.0);
  EXPECT_DOUBLE_EQ(share({}, true).near_share(), 0.0);  // nothing in the zone: all spill
}

TEST(PeakEwma, JumpsToAPeakAndDecaysTowardsFasterCalls) {
  PeakEwma ewma;
  const std::chrono::nanoseconds decay = 10s;
  auto t = std::chrono::nanoseconds(100s);
  EXPECT_EQ(ewma.at(t, decay), 0.0);  // no estimate before the first sample
  ewma.observe(1ms, t, decay);
  EXPECT_DOUBLE_EQ(ewma.at(t, decay), 1e6);
  ewma.observe(20ms, t + 1ms, decay);  // slower: straight up
  EXPECT_NEAR(ewma.at(t + 1ms, decay), 20e6, 1);
  // Fast calls pull it down, over about the decay time, not at once.
  auto now = t + 1ms;
  for (int i = 0; i < 100; ++i) ewma.observe(1ms, now += 10ms, decay);  // 1 s of them
  double after_1s = ewma.at(now, decay);
  EXPECT_LT(after_1s, 20e6 * 0.95);
  EXPECT_GT(after_1s, 5e6);
  for (int i = 0; i < 5000; ++i) ewma.observe(1ms, now += 10ms, decay);  // 50 s more
  EXPECT_NEAR(ewma.at(now, decay), 1e6, 0.05e6);
  // Without calls it decays towards zero: a quiet backend is tried again.
  EXPECT_LT(ewma.at(now + 30s, decay), 0.06e6);
}

TEST(RetryBudget, AllowsTheFloorThenAShareOfCalls) {
  RetryBudget budget(0.2, 1);  // floor: 1/s over 10 s = 10 retries
  auto now = Clock::time_point() + 1000s;
  int allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += budget.try_withdraw(now);
  EXPECT_EQ(allowed, 10);
  for (int i = 0; i < 100; ++i) budget.deposit(now);  // 100 calls: 20 more retries
  allowed = 0;
  for (int i = 0; i < 100; ++i) allowed += budget.try_withdraw(now);
  EXPECT_EQ(allowed, 20);
}

TEST(RetryBudget, ForgetsTheWindowAfterTenSeconds) {
  RetryBudget budget(0.0, 1);
  auto now = Clock::time_point() + 1000s;
  while (budget.try_withdraw(now)) {
  }
  EXPECT_FALSE(budget.try_withdraw(now + 5s));
  EXPECT_TRUE(budget.try_withdraw(now + 11s));
}

TEST(Outlier, EjectsAfterConsecutiveFailuresForAGrowingTime) {
  OutlierState state;
  auto now = Clock::time_point() + 1000s;
  EXPECT_FALSE(state.on_failure(3, now));
  state.on_success();  // a success breaks the streak
  EXPECT_FALSE(state.on_failure(3, now));
  EXPECT_FALSE(state.on_failure(3, now));
  EXPECT_TRUE(state.on_failure(3, now));
  state.eject(now, 1000ms, 30000ms);
  EXPECT_TRUE(state.ejected(now + 999ms));
  EXPECT_FALSE(state.ejected(now + 1000ms));
  for (int i = 0; i < 3; ++i) state.on_failure(3, now + 2s);
  state.eject(now + 2s, 1000ms, 30000ms);  // second time: twice as long
  EXPECT_TRUE(state.ejected(now + 3999ms));
  EXPECT_FALSE(state.ejected(now + 4s));
  for (int n = 0; n < 100; ++n) state.eject(now, 1000ms, 30000ms);
  EXPECT_FALSE(state.ejected(now + 30s));  // capped
  EXPECT_EQ(state.ejections(), 102u);
}

TEST(Histogram, CountsIntoBuckets) {
  Histogram histogram;
  histogram.record(50us);
  histogram.record(3ms);
  histogram.record(20s);
  auto snapshot = histogram.snapshot();
  EXPECT_EQ(snapshot.count, 3u);
  EXPECT_EQ(snapshot.counts.front(), 1u);
  EXPECT_EQ(snapshot.counts.back(), 1u);  // +Inf
  EXPECT_NEAR(snapshot.sum_seconds, 20.00305, 1e-6);
}

// Polls `value()` until it equals `expected` (5 s at most).
template <class Value, class T>
bool eventually_equal(Value value, T expected) {
  for (auto until = Clock::now() + 5s; Clock::now() < until; std::this_thread::sleep_for(1ms)) {
    if (value() == expected) return true;
  }
  return value() == expected;
}

TEST(Limiter, GrantsUpToTheLimitQueuesFifoAndRefusesPastMaxPending) {
  asio::io_context ctx;
  ConcurrencyLimiter limiter(2, 2);
  std::vector<std::string> events;
  std::vector<Permit> held(6);
  auto far = Clock::now() + 10s;
  for (int i = 0; i < 5; ++i) {
    asio::co_spawn(ctx, [&, i]() -> asio::awaitable<void> {
      auto outcome = co_await limiter.acquire(far, held[i]);
      events.push_back(std::to_string(i) + (outcome == ConcurrencyLimiter::Outcome::acquired ? "+" : "!"));
    }, asio::detached);
  }
  ctx.run_for(50ms);  // waiters keep run() busy: run a while, then look
  EXPECT_EQ(events, (std::vector<std::string>{"0+", "1+", "4!"}));  // 2 and 3 wait
  EXPECT_EQ(limiter.waiting(), 2u);
  held[0].release();
  ctx.restart();
  ctx.run_for(50ms);
  EXPECT_EQ(events.back(), "2+");  // the oldest waiter first
  held[1] = Permit();  // release by assignment
  ctx.restart();
  ctx.run_for(50ms);
  EXPECT_EQ(events.back(), "3+");
  EXPECT_EQ(limiter.in_use(), 2u);
  held[2].release();
  held[3].release();
  EXPECT_EQ(limiter.in_use(), 0u);
}

// Threads racing to take and give back permits (each on its own loop, so
// some wait and are woken from other threads): never more than the limit at
// once, and no waiter is forgotten (a lost wake-up would sit until the 10 s
// deadline and count as timed out).
TEST(Limiter, ManyThreadsNeverExceedTheLimitAndNoWaiterIsForgotten) {
  ConcurrencyLimiter limiter(3, 100000);
  std::atomic<int> inside{0}, most{0}, acquired{0}, refused{0}, saw_waiters{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      asio::io_context ctx;
      for (int c = 0; c < 4; ++c) {  // four callers per loop: some always wait
        asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
          for (int i = 0; i < 500; ++i) {
            Permit permit;
            bool quick = limiter.try_acquire(permit);
            if (!quick && co_await limiter.acquire(Clock::now() + 10s, permit) != ConcurrencyLimiter::Outcome::acquired) {
              ++refused;
              continue;
            }
            int now = ++inside;
            for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
            }
            if (limiter.waiting() > 0) ++saw_waiters;
            co_await asio::post(co_await asio::this_coro::executor, asio::use_awaitable);  // hold it a moment
            --inside;
            ++acquired;
          }
        }, asio::detached);
      }
      ctx.run();
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(acquired.load(), 16000);
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(limiter.in_use(), 0u);
  EXPECT_EQ(limiter.waiting(), 0u);
  EXPECT_GT(saw_waiters.load(), 0);  // the queue was used, not only the lock-free path
}

TEST(Limiter, ARaisedLimitGrantsWaitersAndALoweredOneHoldsNewCallsBack) {
  asio::io_context ctx;
  ConcurrencyLimiter limiter(1, 10);
  std::vector<Permit> held(4);
  int granted = 0;
  for (int i = 0; i < 3; ++i) {
    asio::co_spawn(ctx, [&, i]() -> asio::awaitable<void> {
      if (co_await limiter.acquire(Clock::now() + 10s, held[i]) == ConcurrencyLimiter::Outcome::acquired) ++granted;
    }, asio::detached);
  }
  ctx.run_for(30ms);
  EXPECT_EQ(granted, 1);
  EXPECT_EQ(limiter.waiting(), 2u);
  limiter.set_limit(3);  // both waiters get a slot without anyone releasing
  ctx.restart();
  ctx.run_for(30ms);
  EXPECT_EQ(granted, 3);
  EXPECT_EQ(limiter.waiting(), 0u);
  limiter.set_limit(1);  // below the permits out: they stay, new calls wait
  EXPECT_EQ(limiter.in_use(), 3u);
  EXPECT_FALSE(limiter.try_acquire(held[3]));
  held[0].release();
  held[1].release();
  EXPECT_FALSE(limiter.try_acquire(held[3]));  // 1 in use, limit 1
  held[2].release();
  EXPECT_TRUE(limiter.try_acquire(held[3]));
  EXPECT_EQ(limiter.limit(), 1u);
}

TEST(Limiter, AWaitEndsAtTheDeadline) {
  asio::io_context ctx;
  ConcurrencyLimiter limiter(1, 10);
  Permit first, second;
  std::optional<ConcurrencyLimiter::Outcome> outcome;
  asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
    co_await limiter.acquire(Clock::now() + 10s, first);
    outcome = co_await limiter.acquire(Clock::now() + 50ms, second);
  }, asio::detached);
  auto start = Clock::now();
  ctx.run();
  EXPECT_EQ(outcome, ConcurrencyLimiter::Outcome::timed_out);
  EXPECT_GE(Clock::now() - start, 45ms);
  EXPECT_FALSE(second);
  EXPECT_EQ(limiter.waiting(), 0u);
  first.release();
  EXPECT_EQ(limiter.in_use(), 0u);
}

// Blocking waiters (Router::call) share the FIFO queue with loop waiters and
// are served in arrival order, each on its own thread.
TEST(Limiter, BlockingAndLoopWaitersShareOneFifoQueue) {
  ConcurrencyLimiter limiter(1, 10);
  Permit held;
  ASSERT_TRUE(limiter.try_acquire(held));
  std::mutex order_mutex;
  std::vector<std::string> order;
  auto note = [&](std::string who) {
    std::lock_guard lock(order_mutex);
    order.push_back(std::move(who));
  };
  // A blocking waiter, a loop waiter, another blocking waiter, in that order.
  std::thread first([&] {
    Permit permit;
    EXPECT_EQ(limiter.acquire_blocking(Clock::now() + 10s, permit), ConcurrencyLimiter::Outcome::acquired);
    note("blocking-1");
  });
  EXPECT_TRUE(eventually_equal([&] { return limiter.waiting(); }, 1u));
  asio::io_context ctx;
  auto guard = asio::make_work_guard(ctx);
  limiter.acquire_then(Clock::now() + 10s, ctx.get_executor(), [&](ConcurrencyLimiter::Outcome outcome, Permit& permit) {
    EXPECT_EQ(outcome, ConcurrencyLimiter::Outcome::acquired);
    note("loop");
    permit.release();
  });
  std::thread loop([&] { ctx.run(); });
  EXPECT_TRUE(eventually_equal([&] { return limiter.waiting(); }, 2u));
  std::thread third([&] {
    Permit permit;
    EXPECT_EQ(limiter.acquire_blocking(Clock::now() + 10s, permit), ConcurrencyLimiter::Outcome::acquired);
    note("blocking-2");
  });
  EXPECT_TRUE(eventually_equal([&] { return limiter.waiting(); }, 3u));
  held.release();  // each one releases on its way out: the chain runs in order
  first.join();
  third.join();
  guard.reset();
  loop.join();
  EXPECT_EQ(order, (std::vector<std::string>{"blocking-1", "loop", "blocking-2"}));
  EXPECT_EQ(limiter.in_use(), 0u);
}

TEST(Limiter, ABlockingWaitEndsAtTheDeadlineOrAtOnceWhenTheQueueIsFull) {
  ConcurrencyLimiter limiter(1, 1);
  Permit held, waited, refused;
  ASSERT_TRUE(limiter.try_acquire(held));
  std::thread waiter([&] {
    auto start = Clock::now();
    EXPECT_EQ(limiter.acquire_blocking(Clock::now() + 1s, waited), ConcurrencyLimiter::Outcome::timed_out);
    EXPECT_GE(Clock::now() - start, 990ms);
  });
  EXPECT_TRUE(eventually_equal([&] { return limiter.waiting(); }, 1u));
  auto start = Clock::now();
  EXPECT_EQ(limiter.acquire_blocking(Clock::now() + 10s, refused), ConcurrencyLimiter::Outcome::queue_full);
  EXPECT_LT(Clock::now() - start, 900ms);  // at once, not at a deadline
  waiter.join();
  EXPECT_FALSE(waited);
  EXPECT_EQ(limiter.waiting(), 0u);
  held.release();
  EXPECT_EQ(limiter.in_use(), 0u);
}

// Blocking threads racing (8 threads, 3 permits): never more than the limit,
// no wake-up lost (a lost one would sit until the 10 s deadline).
TEST(Limiter, ManyBlockingThreadsNeverExceedTheLimitAndNoWaiterIsForgotten) {
  ConcurrencyLimiter limiter(3, 100000);
  std::atomic<int> inside{0}, most{0}, acquired{0}, refused{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < 8; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < 2000; ++i) {
        Permit permit;
        if (limiter.acquire_blocking(Clock::now() + 10s, permit) != ConcurrencyLimiter::Outcome::acquired) {
          ++refused;
          continue;
        }
        int now = ++inside;
        for (int seen = most.load(); now > seen && !most.compare_exchange_weak(seen, now);) {
        }
        std::this_thread::yield();
        --inside;
        ++acquired;
      }
    });
  }
  for (auto& thread : threads) thread.join();
  EXPECT_EQ(refused.load(), 0);
  EXPECT_EQ(acquired.load(), 16000);
  EXPECT_LE(most.load(), 3);
  EXPECT_EQ(limiter.in_use(), 0u);
  EXPECT_EQ(limiter.waiting(), 0u);
}

// A handed waiter is granted on the thread that gives a permit back, with
// the permit; one withdrawn at its deadline is never granted.
TEST(Limiter, AHandedWaiterGetsItsPermitOnTheReleasingThread) {
  ConcurrencyLimiter limiter(1, 2);
  Permit held;
  ASSERT_TRUE(limiter.try_acquire(held));
  std::thread::id granted_on;
  Permit handed;
  auto first = limiter.enqueue_handed([&](Permit& permit) {
    granted_on = std::this_thread::get_id();
    handed = std::move(permit);
  });
  ASSERT_TRUE(first);
  int late_grants = 0;
  auto second = limiter.enqueue_handed([&](Permit&) { ++late_grants; });
  ASSERT_TRUE(second);
  EXPECT_FALSE(limiter.enqueue_handed([](Permit&) {}));  // max_pending 2: full
  EXPECT_TRUE(limiter.cancel(second));                   // withdrawn while queued
  std::thread releaser([&] { held.release(); });
  auto releaser_id = releaser.get_id();
  releaser.join();
  EXPECT_EQ(granted_on, releaser_id);
  EXPECT_TRUE(handed);
  EXPECT_FALSE(limiter.cancel(first));  // granted already
  handed.release();
  EXPECT_EQ(late_grants, 0);
  EXPECT_EQ(limiter.in_use(), 0u);
  EXPECT_EQ(limiter.waiting(), 0u);
}

}  // namespace
}  // namespace routing::core
