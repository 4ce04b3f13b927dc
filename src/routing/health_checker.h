#pragma once
// Active health checks: every health_check_interval each backend in a
// system's aperture (the backends its calls may go to, System::in_aperture:
// every backend unless the system has more than its connections) is pinged
// (procedure 0) on worker 0, unless it answered a call within the last
// interval: that counts as a passed check, so checks cost nothing under load
// and grow with the backends nobody calls. `unhealthy_after` failures in
// a row take a backend out of balancing; one answer brings it back.
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
// Every system followed has a loop, even with checks off: a reload
// (RouterCore::reconfigure) wakes each loop, which re-reads the settings.
// Turned off, the loop only waits, and backends its checks had taken out
// come back.
#include "routing/backend_tls.h"
#include "routing/connection_pool.h"
#include "routing/system.h"

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>

#include <atomic>
#include <memory>
#include <optional>

namespace routing::core {

class HealthChecker {
 public:
  // `pool`: worker 0's, used on `loop` (worker 0's loop) only.
  HealthChecker(const LiveOptions& options, boost::asio::any_io_executor loop, ConnectionPool& pool,
                const BackendTls& tls);

  // Starts checking `system` (a new one) until it is retired or stop().
  void watch(const std::shared_ptr<System>& system);
  void stop() { stopping_ = true; }

  // One check of one backend (the loop calls it; public for tests).
  boost::asio::awaitable<void> check(System& system, std::shared_ptr<Backend> backend);

 private:
  boost::asio::awaitable<void> loop(std::shared_ptr<System> system, std::shared_ptr<boost::asio::steady_timer> timer);
  // Whether `backend` answered a call within the last check interval (a
  // check it passes without a ping).
  bool answered_recently(const Backend& backend, std::chrono::steady_clock::time_point now) const;
  // Whether the backend answered within the check's timeout.
  boost::asio::awaitable<bool> ping(const System& system, const std::shared_ptr<Backend>& backend);

  const LiveOptions& options_;
  const BackendTls& tls_;
  boost::asio::any_io_executor loop_;
  ConnectionPool& pool_;
  std::atomic<bool> stopping_{false};
};

}  // namespace routing::core
