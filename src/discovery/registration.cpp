#include "discovery/registration.h"

#include "common/backoff.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_future.hpp>
#include "common/log.h"

namespace routing::discovery {
namespace asio = boost::asio;
using std::chrono::milliseconds;

struct Registration::State : std::enable_shared_from_this<State> {
  Discovery& discovery;
  std::string name, address;
  milliseconds ttl;
  DiscoveryOptions options;
  Placement placement;
  std::atomic<bool> stopped{false};
  std::atomic<bool> registered{false};
  bool running = false;           // the loop has not ended (on the executor)
  asio::steady_timer pause;       // between refreshes / retries
  asio::steady_timer loop_ended;  // cancelled when the loop ends

  State(Discovery& d, std::string n, std::string a, milliseconds t, DiscoveryOptions o, Placement p)
      : discovery(d), name(std::move(n)), address(std::move(a)), ttl(t), options(o), placement(std::move(p)),
        pause(d.executor()), loop_ended(d.executor(), asio::steady_timer::time_point::max()) {}

  asio::awaitable<void> sleep(milliseconds time) {
    pause.expires_after(time);
    co_await pause.async_wait(asio::as_tuple(asio::use_awaitable));
  }

  asio::awaitable<void> run() {
    auto self = shared_from_this();
    // Retry pauses stay below a third of the lease, so one lost refresh
    // still leaves time to renew before the lease ends.
    common::Backoff backoff(options.retry_initial,
                            std::min(options.retry_max, std::max(ttl / 3, options.retry_initial)));
    int failures = 0;
    while (!stopped) {
      auto result = co_await discovery.announce(name, address, ttl, placement);
      if (stopped) break;
      if (result.ok()) {
        if (!registered.exchange(true)) {
          common::log().info("registered {} as '{}' with {} (lease {} ms, zone '{}', weight {})", address, name,
                             discovery.describe(), result.value.count(), placement.zone, placement.weight);
        }
        failures = 0;
        backoff.reset();
        co_await sleep(std::max(result.value / 3, milliseconds(10)));
        continue;
      }
      registered = false;
      if (result.status == Status::invalid_argument || result.status == Status::unimplemented) {
        common::log().error("cannot register {} as '{}': {}", address, name, result.error);
        break;  // retrying cannot help
      }
      if (failures++ == 0) {
        common::log().warn("registration of {} as '{}' failed: {}; retrying until it works", address,
                     name, result.error);
      }
      co_await sleep(backoff.next());
    }
    running = false;
    loop_ended.cancel();
  }

  // Runs on the discovery's executor.
  static asio::awaitable<void> stop_here(std::shared_ptr<State> state) {
    state->stopped = true;
    state->pause.cancel();
    if (state->running) co_await state->loop_ended.async_wait(asio::as_tuple(asio::use_awaitable));
    auto result = co_await state->discovery.withdraw(state->name, state->address);
    if (result.ok()) {
      common::log().info("deregistered {} from '{}'", state->address, state->name);
    } else {
      common::log().warn("deregistering {} from '{}' failed: {} (its lease will end on its own)",
                   state->address, state->name, result.error);
    }
    state->registered = false;
  }
};

Registration::Registration(Discovery& discovery, std::string name, std::string address,
                           milliseconds ttl, DiscoveryOptions options, Placement placement)
    : state_(std::make_shared<State>(discovery, std::move(name), std::move(address), ttl, options,
                                     std::move(placement))) {}

Registration::~Registration() {
  state_->stopped = true;
  asio::post(state_->discovery.executor(), [state = state_] { state->pause.cancel(); });
}

void Registration::start() {
  asio::post(state_->discovery.executor(), [state = state_] {
    if (state->running || state->stopped) return;
    state->running = true;
    asio::co_spawn(state->discovery.executor(), state->run(), asio::detached);
  });
}

asio::awaitable<void> Registration::stop() {
  co_await asio::co_spawn(state_->discovery.executor(), State::stop_here(state_), asio::use_awaitable);
}

void Registration::stop_blocking(milliseconds timeout) {
  auto done = asio::co_spawn(state_->discovery.executor(), stop(), asio::use_future);
  if (done.wait_for(timeout) != std::future_status::ready) {
    common::log().warn("deregistration did not finish within {} ms", timeout.count());
  }
}

bool Registration::registered() const { return state_->registered; }

}  // namespace routing::discovery
