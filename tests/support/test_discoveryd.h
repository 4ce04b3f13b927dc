#pragma once
// An in-process discoveryd on loopback, and a way to run discovery coroutines
// from a test thread.
#include "app/control_loop.h"
#include "discovery/discovery_service.h"
#include "rpc/server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_future.hpp>

#include <stdexcept>

namespace routing::test {

class TestDiscoveryd {
 public:
  explicit TestDiscoveryd(std::uint16_t port = 0, discovery::DiscoveryLimits limits = {}) : service_(limits) {
    rpc::ServerOptions options;
    options.listen = "127.0.0.1:" + std::to_string(port);
    options.drain_timeout = std::chrono::milliseconds(500);
    server_ = std::make_unique<rpc::Server>(options);
    service_.register_procedures(*server_);
    boost::asio::co_spawn(control_.executor(), service_.run_expiry(), boost::asio::detached);
    server_->start();
  }
  ~TestDiscoveryd() {
    service_.stop();
    server_->stop();
    server_->wait();
    control_.stop();
  }
  std::uint16_t port() const { return server_->local_endpoint().port(); }
  std::string address() const { return "127.0.0.1:" + std::to_string(port()); }
  std::string url() const { return "rpc://" + address(); }
  discovery::DiscoveryService& service() { return service_; }
  // Client connections open now (watchers, registrars, tests' own clients).
  std::size_t open_connections() const { return server_->stats().open_connections; }

 private:
  app::ControlLoop control_;
  discovery::DiscoveryService service_;
  std::unique_ptr<rpc::Server> server_;
};

// Runs `work` on `executor` and waits for its result (at most 30 s).
template <typename T>
T run_sync(boost::asio::any_io_executor executor, boost::asio::awaitable<T> work) {
  auto future = boost::asio::co_spawn(executor, std::move(work), boost::asio::use_future);
  if (future.wait_for(std::chrono::seconds(30)) != std::future_status::ready) {
    throw std::runtime_error("coroutine did not finish within 30 s");
  }
  return future.get();
}

}  // namespace routing::test
