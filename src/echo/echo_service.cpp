#include "echo/echo_service.h"

#include "routing/limiter.h"
#include "rpc/address.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <charconv>
#include <functional>
#include <limits>

namespace routing::echo {
namespace asio = boost::asio;

std::optional<SlowEcho> parse_slow_echo(std::string_view payload) {
  std::size_t colon = payload.find(':');
  if (colon == std::string_view::npos || colon == 0 || colon > 10) return std::nullopt;
  long long ms = 0;
  const char* first = payload.data();
  auto [end, ec] = std::from_chars(first, first + colon, ms);
  if (ec != std::errc{} || end != first + colon || ms < 0 || ms > max_slow_echo_delay.count()) {
    return std::nullopt;
  }
  return SlowEcho{std::chrono::milliseconds(ms), payload.substr(colon + 1)};
}

namespace {

// Waits `wait`, or less: a tagged call given up (cancelled, past its
// deadline-ms, its client gone) stops waiting at once, its answer would go
// nowhere. (An untagged one waits it out, for clients that half-close.)
asio::awaitable<void> wait_unless_abandoned(rpc::CallContext& call, std::chrono::microseconds wait) {
  asio::steady_timer timer(co_await asio::this_coro::executor, wait);
  if (call.id != 0) call.on_abandoned = [&timer] { timer.cancel(); };
  co_await timer.async_wait(rpc::use_nothrow);
  call.on_abandoned = nullptr;
}

// WHOAMI's answer: the advertised address, else the one listened on.
std::string whoami(const rpc::Server& server, const std::string& advertised) {
  return advertised.empty() ? rpc::format_host_port(server.local_endpoint()) : advertised;
}

using Procedure = std::function<asio::awaitable<Reply>(std::string payload, rpc::CallContext&)>;

// `work` run only while holding one of `capacity`'s slots, taken in arrival
// order (the router's own FIFO limiter: one queue discipline for both).
Procedure within_capacity(std::shared_ptr<core::ConcurrencyLimiter> capacity, Procedure work) {
  return [capacity = std::move(capacity), work = std::move(work)](
             std::string payload, rpc::CallContext& call) -> asio::awaitable<Reply> {
    core::Permit slot;
    auto outcome = co_await capacity->acquire(call.deadline, slot);
    // A slot that comes at the deadline is as late as none.
    if (outcome != core::ConcurrencyLimiter::Outcome::acquired || rpc::CallContext::Clock::now() >= call.deadline) {
      co_return Reply::error(Status::deadline_exceeded, "deadline exceeded waiting for capacity");
    }
    if (!call.wanted()) co_return Reply::error(Status::cancelled, "cancelled");  // given up while it waited
    co_return co_await work(std::move(payload), call);
  };
}

// ECHO and WHOAMI as coroutines: answered after `delay` (0: at once).
void register_delayed(rpc::Server& server, std::string advertised, std::chrono::microseconds delay,
                      const std::shared_ptr<core::ConcurrencyLimiter>& capacity) {
  Procedure echo = [delay](std::string payload, rpc::CallContext& call) -> asio::awaitable<Reply> {
    if (delay.count() > 0) co_await wait_unless_abandoned(call, delay);
    co_return Reply::success(std::move(payload));
  };
  Procedure who = [&server, delay, advertised = std::move(advertised)](
                      std::string, rpc::CallContext& call) -> asio::awaitable<Reply> {
    if (delay.count() > 0) co_await wait_unless_abandoned(call, delay);
    co_return Reply::success(whoami(server, advertised));
  };
  if (capacity) {
    echo = within_capacity(capacity, std::move(echo));
    who = within_capacity(capacity, std::move(who));
  }
  server.handle(echo_procedure, std::move(echo));
  server.handle(whoami_procedure, std::move(who));
}

}  // namespace

void register_echo_service(rpc::Server& server, std::string advertised, EchoSpeed speed) {
  std::shared_ptr<core::ConcurrencyLimiter> capacity;
  if (speed.capacity > 0) {
    capacity = std::make_shared<core::ConcurrencyLimiter>(speed.capacity, std::numeric_limits<std::size_t>::max());
  }
  if (speed.answer_delay.count() > 0 || capacity) {
    register_delayed(server, advertised, speed.answer_delay, capacity);
  } else {
    // Answered at once: a callback handler costs no coroutine frame.
    server.handle_callback(echo_procedure, [](std::string& payload, rpc::CallContext&, rpc::Responder responder) {
      responder.answer(Status::ok, payload);
    });
    server.handle_callback(whoami_procedure, [&server, advertised](std::string&, rpc::CallContext&,
                                                                   rpc::Responder responder) {
      responder.answer(Status::ok, whoami(server, advertised));
    });
  }

  const auto started = std::chrono::steady_clock::now();
  auto speed_now = [speed, started] {
    bool changed = speed.change_after && std::chrono::steady_clock::now() - started >= *speed.change_after;
    return changed ? speed.later_speed : speed.speed;
  };
  Procedure slow_echo = [speed_now](std::string payload, rpc::CallContext& call) -> asio::awaitable<Reply> {
    auto request = parse_slow_echo(payload);
    if (!request) {
      co_return Reply::error(Status::invalid_argument,
                             "SLOW_ECHO expects '<milliseconds>:<text>' with "
                             "milliseconds in 0..3600000");
    }
    auto wait = std::chrono::duration_cast<std::chrono::microseconds>(request->delay / speed_now());
    co_await wait_unless_abandoned(call, wait);
    if (call.id != 0 && !call.wanted()) co_return Reply::error(Status::cancelled, "cancelled");
    co_return Reply::success(std::string(request->text));
  };
  if (capacity) slow_echo = within_capacity(capacity, std::move(slow_echo));
  server.handle(slow_echo_procedure, std::move(slow_echo));
}

}  // namespace routing::echo
