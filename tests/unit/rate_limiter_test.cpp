// RateLimiter: token buckets per name, and the bound on how many it keeps.
#include "proxy/rate_limiter.h"

#include <gtest/gtest.h>

namespace routing::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

TEST(RateLimiter, AllowsTheBurstThenTheRate) {
  RateLimiter limiter(10, 3);
  auto now = Clock::now();
  for (int i = 0; i < 3; ++i) EXPECT_TRUE(limiter.allow("echo", now));
  EXPECT_FALSE(limiter.allow("echo", now));
  EXPECT_TRUE(limiter.allow("kv", now));  // its own bucket
  EXPECT_TRUE(limiter.allow("echo", now + 100ms));
  EXPECT_FALSE(limiter.allow("echo", now + 100ms));
}

TEST(RateLimiter, ForgetsFullBucketsSoManyNamesCostBoundedMemory) {
  RateLimiter limiter(1000, 1);  // a bucket refills in 1 ms
  auto now = Clock::now();
  for (int i = 0; i < 100000; ++i) ASSERT_TRUE(limiter.allow("name-" + std::to_string(i), now + i * 1ms));
  EXPECT_LE(limiter.buckets(), 2048u);
}

TEST(RateLimiter, PastTheCapNewNamesShareOneOverflowBucket) {
  RateLimiter limiter(1, 1, 100);  // buckets refill slowly: none is dropped
  auto now = Clock::now();
  for (int i = 0; i < 100; ++i) ASSERT_TRUE(limiter.allow("name-" + std::to_string(i), now));
  EXPECT_EQ(limiter.buckets(), 100u);
  EXPECT_TRUE(limiter.allow("new-1", now));   // the overflow bucket's one token
  EXPECT_FALSE(limiter.allow("new-2", now));  // shared: limited, never unlimited
  EXPECT_EQ(limiter.buckets(), 100u);
  // Once they refilled (and a second passed), room again.
  EXPECT_TRUE(limiter.allow("new-3", now + 2s));
  EXPECT_EQ(limiter.buckets(), 1u);
}

}  // namespace
}  // namespace routing::proxy
