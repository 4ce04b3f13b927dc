#pragma once
// An in-process echo backend that can be stopped abruptly and restarted on
// the same port, and that counts the calls it is serving at once
// (procedure 42: like SLOW_ECHO, "<ms>:<text>", tracked; its wait is
// multiplied by the backend's slowness, so one backend can be made slower).
#include "echo/echo_service.h"
#include "rpc/server.h"

#include <routing/router.h>

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <memory>
#include <string>
#include <vector>

namespace routing::test {

inline constexpr std::uint32_t tracked_procedure = 42;

class TestBackend {
 public:
  explicit TestBackend(std::uint16_t port = 0) { start(port); }
  ~TestBackend() {
    kill();
    release_port();
  }

  void start(std::uint16_t port = 0) {
    release_port();
    rpc::ServerOptions options;
    options.listen = "127.0.0.1:" + std::to_string(port ? port : port_);
    options.drain_timeout = std::chrono::milliseconds(0);  // stop() cuts calls in flight
    server_ = std::make_unique<rpc::Server>(options);
    echo::register_echo_service(*server_);
    server_->handle(tracked_procedure, [this](std::string payload, rpc::CallContext&)
                                           -> boost::asio::awaitable<Reply> {
      auto request = echo::parse_slow_echo(payload);
      if (!request) co_return Reply::error(Status::invalid_argument, "bad");
      raise_max(max_in_flight_, ++in_flight_);
      raise_max(anywhere().max, ++anywhere().in_flight);
      ++served_;
      auto delay = std::chrono::duration_cast<std::chrono::microseconds>(request->delay * slowness_.load());
      boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, delay);
      co_await timer.async_wait(boost::asio::as_tuple(boost::asio::use_awaitable));
      --in_flight_;
      --anywhere().in_flight;
      co_return Reply::success(std::string(request->text));
    });
    server_->start();
    port_ = server_->local_endpoint().port();
  }
  // Stops at once: connections are cut, calls in flight get no answer.
  // Connects to its port are refused from then on: the port stays bound
  // (without listening) until start(), so a listener made later in the test
  // (a routerd on port 0) cannot be given it and answer in its place.
  void kill() {
    if (!server_) return;
    server_->stop();
    server_->wait();
    server_.reset();
    reserve_port();
  }

  // Calls in flight across every TestBackend of the process at once.
  static std::size_t max_in_flight_anywhere() { return anywhere().max; }
  static void reset_anywhere() { anywhere().max = anywhere().in_flight.load(); }

  // Procedure 42 waits this many times the delay it is given.
  void set_slowness(double factor) { slowness_ = factor; }

  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::size_t max_in_flight() const { return max_in_flight_; }
  void reset_max_in_flight() { max_in_flight_ = in_flight_.load(); }
  std::size_t served() const { return served_; }
  std::size_t open_connections() const { return server_ ? server_->stats().open_connections : 0; }
  // Connections accepted since the last start().
  std::uint64_t accepted() const { return server_ ? server_->stats().accepted_total : 0; }
  // Pings (procedure 0: health checks) answered since the last start().
  std::uint64_t pings() const { return server_ ? server_->stats().pings_total : 0; }

 private:
  struct Tracker {
    std::atomic<std::size_t> in_flight{0};
    std::atomic<std::size_t> max{0};
  };
  static Tracker& anywhere() {
    static Tracker tracker;
    return tracker;
  }
  static void raise_max(std::atomic<std::size_t>& max, std::size_t now) {
    for (auto seen = max.load(); now > seen && !max.compare_exchange_weak(seen, now);) {
    }
  }

  void reserve_port() {
    reserved_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    const int on = 1;  // its closed connections may linger in TIME_WAIT
    ::setsockopt(reserved_, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);
    sockaddr_in at{};
    at.sin_family = AF_INET;
    at.sin_port = htons(port_);
    at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::bind(reserved_, reinterpret_cast<const sockaddr*>(&at), sizeof at) != 0) release_port();
  }
  void release_port() {
    if (reserved_ >= 0) ::close(reserved_);
    reserved_ = -1;
  }

  std::unique_ptr<rpc::Server> server_;
  int reserved_ = -1;  // the port of a killed backend, bound so no one else takes it
  std::uint16_t port_ = 0;
  std::atomic<std::size_t> in_flight_{0};
  std::atomic<std::size_t> max_in_flight_{0};
  std::atomic<std::size_t> served_{0};
  std::atomic<double> slowness_{1.0};
};

// "static://NAME=ADDR,ADDR..." naming these backends.
inline std::string static_url(const std::vector<TestBackend*>& backends, const std::string& name = "echo") {
  std::string url = "static://" + name + "=";
  for (std::size_t i = 0; i < backends.size(); ++i) url += (i ? "," : "") + backends[i]->address();
  return url;
}

// Router options for tests: `discovery`, health checks off (tests that want
// them turn them on).
inline RouterOptions quiet_options(std::string discovery) {
  RouterOptions options;
  options.discovery = std::move(discovery);
  options.health_check_interval = std::chrono::milliseconds(0);
  return options;
}

}  // namespace routing::test
