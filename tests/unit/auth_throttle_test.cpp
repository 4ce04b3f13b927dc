// The limits on guessing routerd's auth token (proxy/auth_throttle.h), on a
// fake clock.
#include "proxy/auth_throttle.h"

#include <gtest/gtest.h>

namespace routing::proxy {
namespace {

using namespace std::chrono_literals;
using Clock = AuthThrottle::Clock;
namespace ip = boost::asio::ip;

const Clock::time_point t0{};

TEST(AuthThrottle, AnAddressGetsItsBurstThenOneTryPerRefill) {
  AuthThrottle throttle({.failures_per_second = 2, .failure_burst = 3});
  auto attacker = ip::make_address("10.0.0.1");
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(throttle.wait_before_attempt(attacker, t0), Clock::duration::zero());
    throttle.record_failure(attacker, t0);
  }
  EXPECT_EQ(throttle.wait_before_attempt(attacker, t0), Clock::duration(500ms));
  EXPECT_EQ(throttle.wait_before_attempt(attacker, t0 + 200ms), Clock::duration(300ms));
  EXPECT_EQ(throttle.wait_before_attempt(attacker, t0 + 500ms), Clock::duration::zero());
  EXPECT_EQ(throttle.wait_before_attempt(ip::make_address("10.0.0.2"), t0), Clock::duration::zero());
}

TEST(AuthThrottle, CountsIpv6PerSlash64AndMappedIpv4AsIpv4) {
  AuthThrottle throttle({.failures_per_second = 1, .failure_burst = 1});
  throttle.record_failure(ip::make_address("2001:db8:1:2::1"), t0);
  EXPECT_GT(throttle.wait_before_attempt(ip::make_address("2001:db8:1:2::ffff"), t0), Clock::duration::zero());
  EXPECT_EQ(throttle.wait_before_attempt(ip::make_address("2001:db8:1:3::1"), t0), Clock::duration::zero());
  throttle.record_failure(ip::make_address("::ffff:10.0.0.1"), t0);
  EXPECT_GT(throttle.wait_before_attempt(ip::make_address("10.0.0.1"), t0), Clock::duration::zero());
  EXPECT_EQ(throttle.wait_before_attempt(ip::make_address("::ffff:10.0.0.2"), t0), Clock::duration::zero());
}

TEST(AuthThrottle, RemembersAtMostMaxAddressesForgettingTheLeastRecent) {
  AuthThrottle throttle({.failures_per_second = 1, .failure_burst = 1, .max_addresses = 3});
  for (int i = 1; i <= 5; ++i) throttle.record_failure(ip::make_address("10.0.0." + std::to_string(i)), t0);
  EXPECT_EQ(throttle.addresses(), 3u);
  EXPECT_EQ(throttle.wait_before_attempt(ip::make_address("10.0.0.1"), t0), Clock::duration::zero());  // forgotten
  EXPECT_GT(throttle.wait_before_attempt(ip::make_address("10.0.0.5"), t0), Clock::duration::zero());
}

TEST(AuthThrottle, ClosesAConnectionAtItsFailureLimitAndCanBeTurnedOffPerAddress) {
  AuthThrottle throttle({.max_failures_per_connection = 3, .failures_per_second = 0});
  EXPECT_FALSE(throttle.connection_spent(2));
  EXPECT_TRUE(throttle.connection_spent(3));
  auto attacker = ip::make_address("10.0.0.1");
  for (int i = 0; i < 100; ++i) throttle.record_failure(attacker, t0);
  EXPECT_EQ(throttle.wait_before_attempt(attacker, t0), Clock::duration::zero());
  EXPECT_EQ(throttle.addresses(), 0u);
}

}  // namespace
}  // namespace routing::proxy
