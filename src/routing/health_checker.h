#pragma once
// Active health checks: every health_check_interval each backend in a
// system's aperture (the backends its calls may go to, System::in_aperture:
// every backend unless the system has more than its connections) is pinged
// (procedure 0) on worker 0, unless it answered a call within the last
// interval: that counts as a passed check, so checks cost nothing under load
// and grow with the backends nobody calls. `unhealthy_after` failures in
// a row take a backend out of balancing; one answer brings it back.
//
// One schedule checks every system: a round each interval walks the systems
// and starts the pings that are due, at most max_health_checks_per_second
// a second over the rounds (a token bucket of one interval). What does not fit waits
// for the next round, which starts where this one stopped: past that many
// backends nobody calls, each is checked less often than every interval
// instead of the checks eating the router (100,000 systems with a loop each
// woke worker 0 100,000 times a second and left it 27 routed calls/s). The
// pings of a round run side by side: a backend that hangs until the check's
// timeout delays no other backend's check.
//
// A check borrows the backend's oldest idle pooled connection (so idle
// connections are exercised too) and puts it back where it was, with its
// idle time untouched: checks never keep an idle connection from reaching
// the idle timeout. A backend speaking tagged frames is pinged on its least
// loaded shared connection, beside the calls it carries (no use noted
// either). With neither it opens one of its own, outside the
// system's bound (so a backend that holds every pooled connection without
// answering is still checked: busy systems cannot starve their checks), and
// closes it after the check (the pool holds only what calls left).
//
// A reload that changes the checks' settings wakes the schedule (wake()),
// which re-reads them. Turned off, the schedule only waits, and backends its
// checks had taken out come back.
#include "routing/backend_tls.h"
#include "routing/connection_pool.h"
#include "routing/system.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <atomic>
#include <memory>
#include <optional>
#include <unordered_set>
#include <vector>

namespace routing::core {

class HealthChecker {
 public:
  using Clock = std::chrono::steady_clock;

  // `pool`: worker 0's, used on `loop` (worker 0's loop) only.
  HealthChecker(const LiveOptions& options, boost::asio::any_io_executor loop, ConnectionPool& pool,
                const BackendTls& tls);

  // Starts the schedule (once the owner is whole: it runs on `this`).
  void start();

  // Starts checking `system` (a new one) from the next round until it is
  // retired or gone. Any thread.
  void watch(const std::shared_ptr<System>& system);
  // A round now, with the settings read again (a reload changed them). Any thread.
  void wake();
  // Stops the schedule (pings under way finish). Any thread.
  void stop();

 private:
  boost::asio::awaitable<void> loop();
  // Starts the pings due in every system, from where the last round stopped,
  // within the round's budget; settles the rest (answered calls) at once.
  void round(Clock::time_point now);
  // The pings a round may start: the tokens max_health_checks_per_second
  // earned since the last round (a bucket of one interval's worth, at least
  // 1), so rounds a reload adds (wake) spend no more than the rate.
  std::size_t take_budget(Clock::time_point now);
  // Drops retired and gone systems, keeping the resume cursor on its system.
  void drop_gone_systems();
  // One check of one backend: a ping unless it answered a call within the interval.
  boost::asio::awaitable<void> check(std::shared_ptr<System> system, std::shared_ptr<Backend> backend);
  // Whether `backend` answered a call within the last check interval (a
  // check it passes without a ping).
  bool answered_recently(const Backend& backend, Clock::time_point now) const;
  // Whether the backend answered within the check's timeout.
  boost::asio::awaitable<bool> ping(const System& system, const std::shared_ptr<Backend>& backend);
  // Counts a check's outcome (ignored if checks were turned off meanwhile).
  void settle(System& system, Backend& backend, bool passed);
  // Checks turned off: what they had taken out comes back.
  void forget_check_results();

  const LiveOptions& options_;
  const BackendTls& tls_;
  boost::asio::any_io_executor loop_;
  ConnectionPool& pool_;
  std::atomic<bool> stopping_{false};
  boost::asio::steady_timer timer_;  // on loop_: between rounds

  // On loop_ only:
  std::vector<std::weak_ptr<System>> systems_;  // retired and gone ones dropped each round
  std::size_t resume_system_ = 0;               // where the next round starts: an index in systems_
  std::size_t resume_backend_ = 0;              // and one in that system's aperture
  double tokens_ = 0;                           // pings earned and not spent
  std::optional<Clock::time_point> last_round_;
  std::unordered_set<const Backend*> pinging_;  // pings under way (not started again until they end)
};

}  // namespace routing::core
