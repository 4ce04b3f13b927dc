#include "app/run.h"

#include "app/service_notify.h"
#include "rpc/address.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <functional>
#include <sys/resource.h>
#include <thread>

namespace routing::app {
namespace asio = boost::asio;

namespace {

// Each client connection is a file descriptor, and so is each backend
// connection: ask for as many as the hard limit allows (as HAProxy does),
// and say so when even that is short of what --max-connections promises.
void raise_open_file_limit(std::size_t max_connections) {
  rlimit limit{};
  if (::getrlimit(RLIMIT_NOFILE, &limit) != 0) return;
  const rlim_t wanted = static_cast<rlim_t>(max_connections) + 1024;  // room for backends, logs, admin
  if (limit.rlim_cur < wanted && limit.rlim_cur < limit.rlim_max) {
    limit.rlim_cur = std::min(wanted, limit.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &limit);
  }
  if (limit.rlim_cur < wanted) {
    spdlog::warn("open files limit is {}: fewer than --max-connections {} clients can connect (raise ulimit -n)",
                 limit.rlim_cur, max_connections);
  }
}

}  // namespace

int serve_until_signal(rpc::Server& server, const ServeHooks& hooks) {
  std::signal(SIGPIPE, SIG_IGN);
  raise_open_file_limit(server.options().max_connections);
  asio::io_context signal_ctx;
  asio::signal_set signals(signal_ctx, SIGINT, SIGTERM);
  // Before the listener opens (their default action kills; main's set-up
  // before this is the only window left).
  asio::signal_set routine(signal_ctx, SIGHUP, SIGUSR1);
  try {
    server.prepare();
  } catch (const std::exception& e) {
    spdlog::critical("cannot listen on {}: {}", server.options().listen, e.what());
    return 1;
  }
  // Connections wait in the backlog until the program is ready for them.
  if (hooks.after_start) hooks.after_start();
  server.start_accepting();
  spdlog::info("listening on {}", rpc::format_host_port(server.local_endpoint()));
  notify_ready();

  asio::steady_timer delay(signal_ctx);
  std::function<void()> await_routine = [&] {
    routine.async_wait([&](const boost::system::error_code& ec, int signal) {
      if (ec) return;
      // A hook that throws must not end the process from the signal thread.
      auto guarded = [signal](const std::function<void()>& hook) {
        try {
          hook();
        } catch (const std::exception& e) {
          spdlog::error("signal {}: {}; nothing more changed", signal, e.what());
        }
      };
      if (signal == SIGUSR1) {
        if (hooks.on_reopen_logs) {
          guarded(hooks.on_reopen_logs);
        } else if (!server.writes_trace_log()) {
          spdlog::info("signal {} (reopen logs): logs go to stderr, nothing to reopen", signal);
        }
        if (auto error = server.reopen_trace_log()) {
          spdlog::error("SIGUSR1: {}; writing on to the old file", *error);
        } else if (server.writes_trace_log()) {
          spdlog::info("SIGUSR1: reopened the trace log {}", server.options().trace_log);
        }
      } else {
        // `systemctl reload` waits from RELOADING=1 to READY=1; a failed
        // reload changed nothing, so the server is ready again either way.
        notify_reloading();
        if (hooks.on_reload) {
          guarded(hooks.on_reload);
        } else {
          spdlog::info("signal {} (reload): this program has no settings to reload; nothing changed", signal);
        }
        notify_ready();
      }
      await_routine();
    });
  };
  await_routine();
  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    const auto& options = server.options();
    spdlog::info("signal {}: not ready; draining in {} ms (up to {} ms); a second signal exits now", signal,
                 options.drain_delay.count(), options.drain_timeout.count());
    notify_stopping();
    if (hooks.before_stop) hooks.before_stop();
    signals.async_wait([](const boost::system::error_code& again, int) {
      if (!again) std::_Exit(130);
    });
    // Still accepting and serving meanwhile: load balancers see /readyz
    // turn 503 before the listener closes.
    delay.expires_after(options.drain_delay);
    delay.async_wait([&](const boost::system::error_code&) { server.stop(hooks.when_drained); });
  });
  std::thread signal_thread([&] { signal_ctx.run(); });
  server.wait();
  signal_ctx.stop();
  signal_thread.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace routing::app
