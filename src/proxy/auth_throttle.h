#pragma once
// Bounds how fast anyone can guess routerd's auth token (procedure 4). Two
// limits, both without a sleep on the event loop:
// - per connection: after `max_failures_per_connection` failed
//   AUTHENTICATE calls the connection is closed once that answer is written
//   (routerd_service.cpp asks the server to), so one connection gets at most
//   that many guesses however fast it pipelines;
// - per source address: a token bucket of failures (`failure_burst`,
//   refilled at `failures_per_second`). While an address's bucket is empty,
//   its AUTHENTICATE calls are answered 8 without looking at the token, so
//   opening new connections buys no more guesses. IPv6 sources count per /64
//   (one host usually owns one), IPv4-mapped ones as IPv4.
// The addresses remembered are bounded (`max_addresses`, least recently
// failing forgotten first). Thread-safe; time is passed in (fake clocks in
// tests).
#include "proxy/proxy_options.h"

#include <boost/asio/ip/address.hpp>

#include <chrono>
#include <cstdint>
#include <list>
#include <mutex>
#include <string>
#include <unordered_map>

namespace routing::proxy {

class AuthThrottle {
 public:
  using Clock = std::chrono::steady_clock;

  explicit AuthThrottle(AuthThrottleOptions options) : options_(options) {}

  // How long `source` must wait before its next attempt is checked; zero
  // when it may try now.
  Clock::duration wait_before_attempt(const boost::asio::ip::address& source, Clock::time_point now);
  // A failed attempt of `source`: takes one from its budget.
  void record_failure(const boost::asio::ip::address& source, Clock::time_point now);
  // Whether a connection with this many failures must be closed.
  bool connection_spent(unsigned failures) const { return failures >= options_.max_failures_per_connection; }
  // Addresses with failures remembered now (at most max_addresses).
  std::size_t addresses() const;

 private:
  struct Budget {
    double tokens;
    Clock::time_point refilled;
    std::list<std::string>::iterator in_order;
  };
  static std::string key_of(const boost::asio::ip::address& source);
  void refill(Budget& budget, Clock::time_point now) const;
  Budget& budget_of(const std::string& key, Clock::time_point now);

  AuthThrottleOptions options_;
  mutable std::mutex mutex_;
  std::unordered_map<std::string, Budget> budgets_;
  std::list<std::string> order_;  // least recently failing first
};

}  // namespace routing::proxy
