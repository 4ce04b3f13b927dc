#include "open_loop.h"

#include "arrivals.h"
#include "open_loop_outcomes.h"
#include "proxy/route_args.h"
#include "rpc/address.h"
#include "rpc/client_connection.h"
#include "rpc/host_port.h"
#include "rpc/timed_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <functional>
#include <stdexcept>

namespace routing::bench {
namespace {

namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using Connections = std::vector<std::shared_ptr<rpc::ClientConnection>>;
// Starts the call that arrived at `arrival` and returns at once; its outcome
// reaches the OpenLoopOutcomes later, on the loop.
using Send = std::function<void(Clock::time_point arrival)>;

Clock::duration seconds(double s) {
  return std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(s));
}

// Fires at each arrival time and sends every call due by then. It never
// waits for an answer: if the loop was busy past several arrivals, they all
// go out at once (each counted late by how much), none is skipped.
class Generator {
 public:
  Generator(asio::io_context& ctx, const OpenLoopSettings& s, Clock::time_point start, Clock::time_point end,
            OpenLoopOutcomes& outcomes, Send send)
      : timer_(ctx), arrivals_(s.rate, s.seed), next_(start), end_(end), outcomes_(outcomes), send_(std::move(send)) {
    next_ += arrivals_.next_gap();
    wait();
  }
  bool done() const { return next_ >= end_; }

 private:
  void wait() {
    if (done()) return;
    timer_.expires_at(next_);
    timer_.async_wait([this](boost::system::error_code ec) {
      if (!ec) fire();
    });
  }
  void fire() {
    for (auto now = Clock::now(); next_ <= now && !done(); next_ += arrivals_.next_gap()) {
      outcomes_.sent(next_, Clock::now());
      send_(next_);
    }
    wait();
  }

  asio::steady_timer timer_;
  PoissonArrivals arrivals_;
  Clock::time_point next_, end_;
  OpenLoopOutcomes& outcomes_;
  Send send_;
};

// Opens `settings.connections` connections that speak tagged frames, before
// the clock starts. Throws with the reason when it cannot.
Connections connect_all(asio::io_context& ctx, const OpenLoopSettings& s) {
  const auto endpoint = rpc::resolve_endpoint(s.address);
  const auto host = rpc::parse_host_port(s.address);
  Connections connections;
  std::string error;
  bool done = false;
  asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
    for (int i = 0; i < s.connections && error.empty(); ++i) {
      auto connection = rpc::ClientConnection::create(ctx.get_executor());
      if (s.tls) connection->use_tls(s.tls, host ? host->host : s.address);
      if (auto ec = co_await rpc::connect_within(connection, endpoint, std::chrono::seconds(5))) {
        error = "cannot connect to " + s.address + ": " + connection->describe_connect_error(ec);
      } else if (!co_await connection->async_probe_tagged(Clock::now() + std::chrono::seconds(5),
                                                          asio::use_awaitable)) {
        // Without tagged frames, one slow answer holds every call behind it:
        // no longer an open loop.
        error = s.address + " does not speak tagged frames (CONTRACT §8), which the open loop needs";
      } else {
        connections.push_back(std::move(connection));
      }
    }
    done = true;
  }, asio::detached);
  const auto limit = Clock::now() + std::chrono::seconds(60);
  while (!done && Clock::now() < limit) ctx.run_one_until(limit);
  ctx.restart();
  if (!done) error = "connecting to " + s.address + " took over 60 s";
  if (!error.empty()) throw std::runtime_error(error);
  return connections;
}

// The open connection with the fewest calls in flight (a few connections:
// a scan is cheaper than keeping an order); null when all are closed.
rpc::ClientConnection* least_loaded(const Connections& connections) {
  rpc::ClientConnection* best = nullptr;
  for (const auto& c : connections) {
    if (c->is_open() && (!best || c->in_flight() < best->in_flight())) best = c.get();
  }
  return best;
}

// Direct and proxy modes: each call a tagged frame with the deadline
// arrival + timeout; the connection gives up on it alone at that deadline.
Send wire_sender(const OpenLoopSettings& s, const Connections& connections, OpenLoopOutcomes& outcomes) {
  std::vector<std::string> payloads;
  std::uint32_t procedure = s.procedure;
  if (!s.proxy) {
    payloads.push_back(s.payload);
  } else {
    CallOptions options{.timeout = s.timeout, .idempotent = s.idempotent};
    for (const auto& system : s.systems) payloads.push_back(proxy::route_args_json(system, s.procedure, s.payload, options));
    procedure = proxy::route_procedure;
  }
  return [&connections, &outcomes, payloads = std::move(payloads), procedure, timeout = s.timeout,
          turn = std::size_t{0}](Clock::time_point arrival) mutable {
    auto* connection = least_loaded(connections);
    if (!connection) {
      outcomes.finished(arrival, Clock::now(), Reply::error(Status::unavailable, "every connection closed"), false);
      return;
    }
    connection->call_then(procedure, payloads[turn++ % payloads.size()], arrival + timeout,
                          [&outcomes, arrival](Reply& reply, bool answered) {
                            outcomes.finished(arrival, Clock::now(), reply, answered);
                          });
  };
}

// Library mode: one coroutine per call on the generator's loop; the router
// gets what is left of the call's deadline after the generator's delay.
asio::awaitable<void> library_call(Router& router, std::string system, std::uint32_t procedure, std::string payload,
                                   CallOptions options, Clock::time_point arrival, OpenLoopOutcomes& outcomes) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(*options.timeout - (Clock::now() - arrival));
  options.timeout = std::max(left, std::chrono::milliseconds(1));
  Reply reply;
  try {
    reply = co_await router.async_call(std::move(system), procedure, std::move(payload), options);
  } catch (const std::exception& e) {
    reply = Reply::error(Status::internal, e.what());
  }
  outcomes.finished(arrival, Clock::now(), reply, true);
}

Send library_sender(asio::io_context& ctx, const OpenLoopSettings& s, Router& router, OpenLoopOutcomes& outcomes) {
  CallOptions options{.timeout = s.timeout, .idempotent = s.idempotent};
  return [&ctx, &router, &outcomes, &s, options, turn = std::size_t{0}](Clock::time_point arrival) mutable {
    asio::co_spawn(ctx, library_call(router, s.systems[turn++ % s.systems.size()], s.procedure, s.payload, options,
                                     arrival, outcomes),
                   asio::detached);
  };
}

std::string describe(const OpenLoopSettings& s) {
  if (s.library) {
    return "library, pool " + (s.library->adaptive_pool ? std::string("auto") : std::to_string(s.library->pool_size)) +
           ", max pending " + std::to_string(s.library->max_pending);
  }
  return std::string(s.proxy ? "proxy" : "direct") + ", " + std::to_string(s.connections) + " connections";
}

}  // namespace

int run_open_loop(const OpenLoopSettings& s) {
  // Declared in this order so that they end in the reverse: the connections
  // and the router before the loop they complete into, the outcomes last.
  OpenLoopOutcomes outcomes(s.timeout);
  asio::io_context ctx(1);
  std::unique_ptr<Router> router;
  Connections connections;
  Send send;
  try {
    if (s.library) {
      router = std::make_unique<Router>(*s.library);
      send = library_sender(ctx, s, *router, outcomes);
    } else {
      connections = connect_all(ctx, s);
      send = wire_sender(s, connections, outcomes);
    }
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "routebench: %s\n", e.what());
    return 2;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "routebench: %s\n", e.what());
    return 1;
  }
  const auto start = Clock::now();
  const auto measure_from = start + seconds(s.warmup_s);
  const auto end = measure_from + seconds(s.duration_s);
  outcomes.set_window(measure_from, end);
  // The loop has work (the router's calls) that Asio may not count as such.
  auto work = asio::make_work_guard(ctx);
  Generator generator(ctx, s, start, end, outcomes, std::move(send));
  const auto limit = end + s.timeout + std::chrono::seconds(1);
  while ((!generator.done() || outcomes.in_flight() > 0) && Clock::now() < limit) ctx.run_one_until(limit);
  outcomes.give_up_unanswered();
  for (auto& connection : connections) connection->close();
  outcomes.print(s.duration_s, s.json, describe(s));
  std::fflush(stdout);
  return outcomes.ok() > 0 ? 0 : 1;
}

}  // namespace routing::bench
