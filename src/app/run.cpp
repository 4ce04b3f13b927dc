#include "app/run.h"

#include "rpc/address.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <spdlog/spdlog.h>

#include <csignal>
#include <thread>

namespace routing::app {
namespace asio = boost::asio;

int serve_until_signal(rpc::Server& server, const ServeHooks& hooks) {
  std::signal(SIGPIPE, SIG_IGN);
  asio::io_context signal_ctx;
  asio::signal_set signals(signal_ctx, SIGINT, SIGTERM);
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

  signals.async_wait([&](const boost::system::error_code& ec, int signal) {
    if (ec) return;
    spdlog::info("signal {}: draining (up to {} ms); a second signal exits now", signal,
                 server.options().drain_timeout.count());
    if (hooks.before_stop) hooks.before_stop();
    server.stop(hooks.when_drained);
    signals.async_wait([](const boost::system::error_code& again, int) {
      if (!again) std::_Exit(130);
    });
  });
  std::thread signal_thread([&] { signal_ctx.run(); });
  server.wait();
  signal_ctx.stop();
  signal_thread.join();
  spdlog::info("stopped");
  return 0;
}

}  // namespace routing::app
