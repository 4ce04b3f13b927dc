#include "routing/health_checker.h"

#include "common/log.h"
#include "rpc/timed_call.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace routing::core {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

HealthChecker::HealthChecker(const LiveOptions& options, asio::any_io_executor loop, ConnectionPool& pool,
                             const BackendTls& tls)
    : options_(options), tls_(tls), loop_(std::move(loop)), pool_(pool), timer_(loop_) {}

void HealthChecker::start() { asio::co_spawn(loop_, loop(), asio::detached); }

namespace {

bool checks_on(const RouterOptions& options) {
  return options.health_check_interval.count() > 0 && options.health_check != "off";
}

// While checks are off the schedule only waits for a reload to wake it.
constexpr std::chrono::hours checks_off_wait{24};

}  // namespace

void HealthChecker::watch(const std::shared_ptr<System>& system) {
  asio::post(loop_, [this, weak = std::weak_ptr<System>(system)] { systems_.push_back(weak); });
}

void HealthChecker::wake() {
  asio::post(loop_, [this] { timer_.cancel(); });
}

void HealthChecker::stop() {
  stopping_ = true;
  wake();
}

bool HealthChecker::answered_recently(const Backend& backend, Clock::time_point now) const {
  const auto interval = std::chrono::duration_cast<Clock::duration>(options_.get().health_check_interval);
  return backend.answered_ns.load(std::memory_order_relaxed) > (now - interval).time_since_epoch().count();
}

std::size_t HealthChecker::take_budget(Clock::time_point now) {
  const auto& options = options_.get();
  const double rate = static_cast<double>(options.max_health_checks_per_second);
  const double per_interval = rate * std::chrono::duration<double>(options.health_check_interval).count();
  const double earned = last_round_ ? rate * std::chrono::duration<double>(now - *last_round_).count() : per_interval;
  last_round_ = now;
  tokens_ = std::min(tokens_ + earned, std::max(per_interval, 1.0));
  const auto budget = static_cast<std::size_t>(tokens_);
  tokens_ -= static_cast<double>(budget);  // what a round does not start is not saved up past the bucket
  return budget;
}

void HealthChecker::drop_gone_systems() {
  std::size_t kept = 0, cursor = 0;
  for (std::size_t i = 0; i < systems_.size(); ++i) {
    auto system = systems_[i].lock();
    const bool gone = !system || system->retired();
    if (i == resume_system_) {
      cursor = kept;  // the cursor's system, or the next one kept
      if (gone) resume_backend_ = 0;
    }
    if (gone) continue;
    if (kept != i) systems_[kept] = std::move(systems_[i]);  // never onto itself: that empties a weak_ptr
    ++kept;
  }
  if (resume_system_ >= systems_.size()) cursor = 0;
  systems_.resize(kept);
  resume_system_ = cursor;
}

void HealthChecker::forget_check_results() {
  for (const auto& weak : systems_) {
    if (auto system = weak.lock()) {
      const auto list = system->backends();  // held: see System::stats
      for (const auto& backend : list->backends) {
        backend->health_failures = 0;
        backend->healthy = true;
      }
    }
  }
}

asio::awaitable<void> HealthChecker::loop() {
  while (!stopping_) {
    const bool on = checks_on(options_.get());
    if (!on) forget_check_results();  // also what a round under way when they turned off took out
    timer_.expires_after(on ? std::chrono::duration_cast<Clock::duration>(options_.get().health_check_interval)
                            : std::chrono::duration_cast<Clock::duration>(checks_off_wait));
    co_await timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    if (checks_on(options_.get())) round(Clock::now());
  }
}

void HealthChecker::round(Clock::time_point now) {
  drop_gone_systems();
  const std::size_t n = systems_.size();
  if (n == 0) return;
  const std::size_t budget = take_budget(now);
  std::size_t started = 0;
  const std::size_t first = resume_system_ % n;
  // k == n comes back to the first system for the backends before
  // resume_backend_ (the last round's pings reached up to there).
  for (std::size_t k = 0; k <= n; ++k) {
    const std::size_t at = (first + k) % n;
    auto system = systems_[at].lock();
    if (!system) continue;  // gone since drop_gone_systems (not on this thread today)
    // The backends this router may call (its aperture): a system of
    // thousands costs the checks of the few it uses.
    const auto window = system->in_aperture(*system->backends(), now);
    const std::size_t from = k == 0 ? resume_backend_ : 0;
    const std::size_t to = k == n ? std::min(resume_backend_, window.size()) : window.size();
    for (std::size_t i = from; i < to; ++i) {
      const auto& backend = window[i];
      if (pinging_.contains(backend.get())) continue;  // an earlier round's ping still waits
      if (answered_recently(*backend, now)) {
        settle(*system, *backend, true);
        continue;
      }
      if (started >= budget) {
        resume_system_ = at;
        resume_backend_ = i;
        return;
      }
      ++started;
      pinging_.insert(backend.get());
      asio::co_spawn(loop_, check(system, backend), asio::detached);
    }
  }
  resume_system_ = first;
  resume_backend_ = 0;
}

asio::awaitable<void> HealthChecker::check(std::shared_ptr<System> system, std::shared_ptr<Backend> backend) {
  bool passed = false;
  try {
    passed = co_await ping(*system, backend);
  } catch (const std::exception& e) {
    common::log().warn("system '{}': health check of {} failed: {}", system->name(), backend->address, e.what());
  }
  pinging_.erase(backend.get());
  settle(*system, *backend, passed);
}

void HealthChecker::settle(System& system, Backend& backend, bool passed) {
  if (stopping_ || !checks_on(options_.get())) return;  // turned off meanwhile: forget_check_results
  if (passed) {
    backend.health_failures = 0;
    if (!backend.healthy.exchange(true)) {
      system.begin_slow_start(backend, Clock::now());
      common::log().info("system '{}': backend {} is healthy again", system.name(), backend.address);
    }
  } else if (backend.health_check_failures.fetch_add(1, std::memory_order_relaxed),
             ++backend.health_failures >= options_.get().unhealthy_after && backend.healthy.exchange(false)) {
    common::log().warn("system '{}': backend {} failed {} health checks: taken out", system.name(), backend.address,
                       backend.health_failures);
  }
}

asio::awaitable<bool> HealthChecker::ping(const System& system, const std::shared_ptr<Backend>& backend) {
  // The book's services have no ping (procedure 0 is an unknown procedure to them).
  const bool connect_only = options_.get().health_check == "tcp" || system.speaks_book();
  if (auto borrowed = connect_only ? std::nullopt : pool_.borrow_oldest(*backend)) {
    Reply pong = co_await rpc::call_within(borrowed->connection.shared(), 0, "", options_.get().health_check_timeout);
    bool passed = pong.ok() && borrowed->connection.connection().is_open();
    if (passed) pool_.put_back(std::move(*borrowed));
    co_return passed;
  }
  if (!connect_only) {
    // A tagged connection carries the ping beside its calls: without this a
    // check of a tagged backend connected afresh every time (10,000 systems
    // checked once a second: 10,000 connects a second, and their TIME_WAITs).
    if (auto lent = pool_.lend_shared(*backend)) {
      Reply pong = co_await rpc::call_within(lent.shared(), 0, "", options_.get().health_check_timeout);
      const bool passed = pong.ok() && lent.connection().is_open();
      pool_.give_back_lent(std::move(lent));
      co_return passed;
    }
  }
  // None idle: a connection of the check's own, outside the system's bound
  // (a backend that holds every pooled connection without answering must
  // still be checked), closed after the check.
  auto fresh = rpc::ClientConnection::create(loop_, options_.get().max_frame_bytes);
  if (!connect_only) tls_.apply(*fresh, backend->address);  // a TCP check stops before any handshake
  const auto target = backend->endpoint.get();
  if (!target) co_return false;  // not resolved (yet)
  auto ec = co_await rpc::connect_within(fresh, *target, options_.get().health_check_timeout);
  if (ec) co_return false;
  if (connect_only) {
    fresh->close();
    co_return true;
  }
  Reply pong = co_await rpc::call_within(fresh, 0, "", options_.get().health_check_timeout);
  fresh->close();
  co_return pong.ok();
}

}  // namespace routing::core
