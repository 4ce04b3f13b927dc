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
    : options_(options), tls_(tls), loop_(std::move(loop)), pool_(pool) {}

namespace {

bool checks_on(const RouterOptions& options) {
  return options.health_check_interval.count() > 0 && options.health_check != "off";
}

// While checks are off the loop only waits for a reload to wake it.
constexpr std::chrono::hours checks_off_wait{24};

// Checks turned off (a reload): what they had taken out comes back, as no
// check will bring it back any more. Passive ejection still applies.
void forget_check_results(System& system) {
  const auto list = system.backends();  // held: see System::stats
  for (const auto& backend : list->backends) {
    backend->health_failures = 0;
    backend->healthy = true;
  }
}

}  // namespace

bool HealthChecker::answered_recently(const Backend& backend, Clock::time_point now) const {
  const auto interval = std::chrono::duration_cast<Clock::duration>(options_.get().health_check_interval);
  return backend.answered_ns.load(std::memory_order_relaxed) > (now - interval).time_since_epoch().count();
}

void HealthChecker::watch(const std::shared_ptr<System>& system) {
  // Even with checks off: a reload may turn them on (wake() then re-reads).
  auto timer = std::make_shared<asio::steady_timer>(loop_);
  system->set_health_timer(timer);
  asio::co_spawn(loop_, loop(system, timer), asio::detached);
}

asio::awaitable<void> HealthChecker::loop(std::shared_ptr<System> system, std::shared_ptr<asio::steady_timer> timer) {
  while (!stopping_ && !system->retired()) {
    const bool on = checks_on(options_.get());
    if (!on) forget_check_results(*system);  // also what a round under way when they turned off took out
    timer->expires_after(on ? std::chrono::duration_cast<Clock::duration>(options_.get().health_check_interval)
                            : std::chrono::duration_cast<Clock::duration>(checks_off_wait));
    co_await timer->async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_ || system->retired()) break;
    if (!checks_on(options_.get())) continue;
    // The backends this router may call (its aperture): a system of
    // thousands costs the checks of the few it uses.
    for (const auto& backend : system->in_aperture(*system->backends(), Clock::now())) {
      if (stopping_ || !checks_on(options_.get())) break;
      co_await check(*system, backend);
    }
  }
}

asio::awaitable<void> HealthChecker::check(System& system, std::shared_ptr<Backend> backend) {
  // A backend that answered a call within the last interval passed without
  // a ping: checks cost nothing under load, and what they cost grows with
  // the backends nobody calls, not with every backend of every system
  // (10,000 systems checked once a second halved routed calls/s).
  bool passed = answered_recently(*backend, Clock::now());
  // Named: GCC 12 miscompiles a co_await inside an if's condition.
  if (!passed) passed = co_await ping(system, backend);
  if (passed) {
    backend->health_failures = 0;
    if (!backend->healthy.exchange(true)) {
      system.begin_slow_start(*backend, Clock::now());
      common::log().info("system '{}': backend {} is healthy again", system.name(), backend->address);
    }
  } else if (backend->health_check_failures.fetch_add(1, std::memory_order_relaxed),
             ++backend->health_failures >= options_.get().unhealthy_after && backend->healthy.exchange(false)) {
    common::log().warn("system '{}': backend {} failed {} health checks: taken out", system.name(), backend->address,
                       backend->health_failures);
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
