#include "churn.h"

#include "app/common_flags.h"
#include "discovery/discovery.h"

#include <routing/status.h>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <cmath>
#include <csignal>
#include <cstdio>
#include <deque>
#include <random>
#include <stdexcept>
#include <vector>

namespace routing::bench {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

std::string churn_address(std::size_t i, std::uint16_t port) {
  return "127." + std::to_string(1 + i / 62500) + "." + std::to_string(i / 250 % 250) + "." +
         std::to_string(1 + i % 250) + ":" + std::to_string(port);
}

CLI::App* add_churn_subcommand(CLI::App& app, ChurnSettings& s) {
  auto* sub = app.add_subcommand(
      "churn",
      "register a system's backends with discovery, keep their leases alive, and change the set --rate times a "
      "second for --duration-s; then withdraw them (the scale bench's discovery load)");
  sub->add_option("--discovery", s.discovery, "discovery URL to register with (rpc://HOST:PORT: discoveryd)")
      ->required()
      ->check(app::discovery_url_validator());
  sub->add_option("--system", s.system, "the name the backends register under")->capture_default_str();
  sub->add_option("--backends", s.backends,
                  "instances to register: 127.(1+i/62500).(i/250%250).(1+i%250):PORT for i < N (as "
                  "bench_scale.sh's backends()); the next N addresses are the spares changes bring in")
      ->required()
      ->check(CLI::Range(std::size_t{1}, std::size_t{1'000'000}));
  sub->add_option("--backend-port", s.backend_port, "every instance's port")
      ->required()
      ->check(CLI::Range(1, 65535));
  sub->add_option("--rate", s.rate,
                  "changes per second, each one instance replaced by a spare (deregister one, register another); "
                  "0: only register and keep the leases")
      ->check(app::finite_number())
      ->check(CLI::Range(0.0, 100'000.0))
      ->capture_default_str();
  sub->add_option("--duration-s", s.duration_s, "how long to keep the set (and change it) once registered")
      ->check(app::finite_number())
      ->check(CLI::Range(0.1, 86'400.0))
      ->capture_default_str();
  sub->add_option("--ttl-ms", s.ttl_ms, "lease time; each instance is refreshed every third of it")
      ->check(CLI::Range(100L, 604'800'000L))
      ->capture_default_str();
  sub->add_option("--in-flight", s.in_flight, "discovery requests outstanding at most (pipelined on one connection)")
      ->check(CLI::Range(std::size_t{2}, std::size_t{100'000}))
      ->capture_default_str();
  sub->add_option("--seed", s.seed, "seed of the choice of instances to replace")->capture_default_str();
  sub->add_flag("--json", s.json, "print the summary as one JSON line");
  return sub;
}

namespace {

struct Count {
  std::uint64_t ok = 0, failed = 0;
};

class Churn {
 public:
  Churn(const ChurnSettings& s, asio::io_context& io, std::unique_ptr<discovery::Discovery> discovery)
      : s_(s), io_(io), discovery_(std::move(discovery)), tick_(io), slot_(io), rng_(s.seed) {}

  // Returns the exit code.
  asio::awaitable<int> run() {
    auto begin = Clock::now();
    for (std::size_t i = 0; i < s_.backends && !stopping_; ++i) {
      co_await wait_slot(1);
      spawn(announce(i, registered_));
    }
    co_await drain();
    register_ms_ = std::chrono::duration<double, std::milli>(Clock::now() - begin).count();
    if (registered_.failed > 0) {
      std::fprintf(stderr, "routebench churn: %llu of %zu registrations failed, first: %s\n",
                   static_cast<unsigned long long>(registered_.failed), s_.backends, first_error_.c_str());
    } else if (!stopping_) {
      std::fprintf(stderr, "registered %zu instances of '%s' in %.0f ms\n", s_.backends, s_.system.c_str(),
                   register_ms_);
      std::fflush(stderr);
      co_await keep();
    }
    // Withdraw what is (or may be) registered, even after a failure or a signal.
    stopping_ = false;
    for (std::size_t i : live_) {
      co_await wait_slot(1);
      spawn(withdraw(i, withdrawn_));
    }
    if (live_.empty()) {  // stopped or failed during the first registration
      for (std::size_t i = 0; i < s_.backends; ++i) {
        co_await wait_slot(1);
        spawn(withdraw(i, withdrawn_));
      }
    }
    co_await drain();
    discovery_->shutdown();
    report();
    bool failed = registered_.failed + changes_.failed + refreshes_.failed > 0;
    co_return failed ? 1 : 0;
  }

  void stop() {
    stopping_ = true;
    tick_.cancel();
    slot_.cancel();
  }

 private:
  // The steady state: leases refreshed, `rate` changes a second, until the
  // duration ends (or a signal).
  asio::awaitable<void> keep() {
    for (std::size_t i = 0; i < s_.backends; ++i) live_.push_back(i);
    for (std::size_t i = s_.backends; i < 2 * s_.backends; ++i) spares_.push_back(i);
    const auto start = Clock::now();
    const auto end = start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s_.duration_s));
    const double refresh_period_s = static_cast<double>(s_.ttl_ms) / 3000.0;
    const auto tick = s_.rate > 0 ? milliseconds(1) : milliseconds(20);
    std::uint64_t refreshes_issued = 0;
    std::uniform_int_distribution<std::size_t> position(0, s_.backends - 1);
    auto now = start;
    while (!stopping_ && (now = Clock::now()) < end) {
      double elapsed = std::chrono::duration<double>(now - start).count();
      auto due_changes = static_cast<std::uint64_t>(std::floor(s_.rate * elapsed));
      // Every instance once per period, spread evenly over it.
      auto due_refreshes = static_cast<std::uint64_t>(
          std::floor(static_cast<double>(s_.backends) * elapsed / refresh_period_s));
      while (changes_issued_ < due_changes && outstanding_ + 2 <= s_.in_flight) {
        std::size_t p = position(rng_);
        std::size_t old = live_[p], fresh = spares_.front();
        spares_.pop_front();
        spares_.push_back(old);
        live_[p] = fresh;
        spawn(withdraw(old, changes_));
        spawn(announce(fresh, changes_));
        ++changes_issued_;
      }
      while (refreshes_issued < due_refreshes && outstanding_ < s_.in_flight) {
        spawn(announce(live_[refreshes_issued % live_.size()], refreshes_));
        ++refreshes_issued;
      }
      tick_.expires_after(tick);
      co_await tick_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
    kept_s_ = std::chrono::duration<double>(std::min(now, end) - start).count();
    co_await drain();
  }

  asio::awaitable<void> announce(std::size_t i, Count& count) {
    // Named arguments and awaitable: GCC 12 mishandles temporaries in a
    // co_await expression (it destroyed this Placement twice).
    std::string name = s_.system, address = churn_address(i, s_.backend_port);
    discovery::Placement placement;
    auto call = discovery_->announce(std::move(name), std::move(address), milliseconds(s_.ttl_ms), std::move(placement));
    auto result = co_await std::move(call);
    note(result.ok(), result.status, result.error, count);
  }

  asio::awaitable<void> withdraw(std::size_t i, Count& count) {
    std::string name = s_.system, address = churn_address(i, s_.backend_port);
    auto call = discovery_->withdraw(std::move(name), std::move(address));
    auto result = co_await std::move(call);
    note(result.ok(), result.status, result.error, count);
  }

  void note(bool ok, Status status, const std::string& error, Count& count) {
    if (ok) {
      ++count.ok;
      return;
    }
    ++count.failed;
    if (first_error_.empty()) first_error_ = std::string(status_name(status)) + ": " + error;
  }

  void spawn(asio::awaitable<void> work) {
    ++outstanding_;
    asio::co_spawn(io_, std::move(work), [this](std::exception_ptr error) {
      if (error) {
        try {
          std::rethrow_exception(error);
        } catch (const std::exception& e) {
          if (first_error_.empty()) first_error_ = e.what();
        }
        ++internal_failures_;
      }
      --outstanding_;
      slot_.cancel();
    });
  }

  // Until `n` more requests may go out (at once while stopping).
  asio::awaitable<void> wait_slot(std::size_t n) {
    while (outstanding_ + n > s_.in_flight && !stopping_) {
      slot_.expires_at(Clock::time_point::max());
      co_await slot_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  // Until every request has its answer (or its timeout).
  asio::awaitable<void> drain() {
    while (outstanding_ > 0) {
      slot_.expires_at(Clock::time_point::max());
      co_await slot_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  void report() const {
    double per_s = kept_s_ > 0 ? static_cast<double>(changes_issued_) / kept_s_ : 0;
    std::uint64_t failed = registered_.failed + changes_.failed + refreshes_.failed + withdrawn_.failed +
                           internal_failures_;
    if (s_.json) {
      std::printf("{\"backends\":%zu,\"register_ms\":%.1f,\"seconds\":%.3f,\"changes\":%llu,\"changes_per_s\":%.1f,"
                  "\"refreshes\":%llu,\"withdrawn\":%llu,\"failed\":%llu}\n",
                  s_.backends, register_ms_, kept_s_, static_cast<unsigned long long>(changes_issued_), per_s,
                  static_cast<unsigned long long>(refreshes_.ok), static_cast<unsigned long long>(withdrawn_.ok),
                  static_cast<unsigned long long>(failed));
    } else {
      std::printf("%zu instances of '%s' registered in %.0f ms; %llu changes in %.1f s (%.1f/s, asked %.1f/s); "
                  "%llu lease refreshes; %llu withdrawn at the end; %llu requests failed%s%s\n",
                  s_.backends, s_.system.c_str(), register_ms_, static_cast<unsigned long long>(changes_issued_),
                  kept_s_, per_s, s_.rate, static_cast<unsigned long long>(refreshes_.ok),
                  static_cast<unsigned long long>(withdrawn_.ok), static_cast<unsigned long long>(failed),
                  first_error_.empty() ? "" : ", first: ", first_error_.c_str());
    }
    std::fflush(stdout);
  }

  const ChurnSettings& s_;
  asio::io_context& io_;
  std::unique_ptr<discovery::Discovery> discovery_;
  asio::steady_timer tick_;
  asio::steady_timer slot_;  // cancelled whenever a request ends
  std::mt19937 rng_;
  bool stopping_ = false;
  std::size_t outstanding_ = 0;
  std::vector<std::size_t> live_;    // instance numbers registered now, by position
  std::deque<std::size_t> spares_;   // not registered; the front joins next
  std::uint64_t changes_issued_ = 0;
  std::uint64_t internal_failures_ = 0;
  Count registered_, changes_, refreshes_, withdrawn_;  // one change = two requests in changes_
  std::string first_error_;
  double register_ms_ = 0, kept_s_ = 0;
};

}  // namespace

int run_churn(const ChurnSettings& s) {
  asio::io_context io;
  std::unique_ptr<discovery::Discovery> discovery;
  try {
    discovery = discovery::make_discovery(s.discovery, io.get_executor());
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "routebench churn: %s\n", e.what());
    return 2;
  }
  Churn churn(s, io, std::move(discovery));
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code& error, int) {
    if (!error) churn.stop();
  });
  int code = 1;
  asio::co_spawn(io, churn.run(), [&](std::exception_ptr error, int result) {
    if (error) {
      try {
        std::rethrow_exception(error);
      } catch (const std::exception& e) {
        std::fprintf(stderr, "routebench churn: %s\n", e.what());
      }
    } else {
      code = result;
    }
    signals.cancel();
  });
  io.run();
  return code;
}

}  // namespace routing::bench
