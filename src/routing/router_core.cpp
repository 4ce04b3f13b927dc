#include "routing/router_core.h"

#include "common/log.h"
#include "discovery/discovery_health.h"
#include "discovery/discovery_url.h"
#include "discovery/resolver_discovery.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>

#include <future>

namespace routing::core {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

void RouterCore::validate(const RouterOptions& options) {
  auto fail = [](const std::string& why) { throw std::invalid_argument(why); };
  if (options.pool_size == 0) fail("pool size must be at least 1");
  if (options.calls_per_connection == 0) fail("calls per connection must be at least 1");
  if (options.adaptive_pool) {
    if (options.adaptive_min_pool == 0) fail("adaptive min pool must be at least 1");
    if (options.adaptive_max_pool < options.adaptive_min_pool) fail("adaptive max pool must be at least its min");
    if (options.adaptive_interval.count() <= 0) fail("adaptive interval must be positive");
  }
  if (options.peak_ewma_decay.count() <= 0) fail("peak-ewma decay must be positive");
  if (options.slow_start.count() < 0) fail("slow start must not be negative");
  if (options.request_timeout.count() <= 0) fail("request timeout must be positive");
  if (options.max_request_timeout < options.request_timeout) {
    fail("max request timeout must be at least the request timeout");
  }
  if (options.connect_timeout.count() <= 0) fail("connect timeout must be positive");
  if (options.idle_timeout.count() <= 0) fail("idle timeout must be positive");
  if (options.health_check_interval.count() < 0) fail("health check interval must not be negative");
  if (options.health_check != "procedure" && options.health_check != "tcp" && options.health_check != "off") {
    fail("health check must be procedure, tcp or off, not '" + options.health_check + "'");
  }
  if (options.health_check_timeout.count() <= 0) fail("health check timeout must be positive");
  if (options.unhealthy_after == 0) fail("unhealthy_after must be at least 1");
  if (options.max_health_checks_per_second == 0) fail("max_health_checks_per_second must be at least 1");
  if (options.eject_after == 0) fail("eject_after must be at least 1");
  if (options.max_ejected_percent > 100) fail("max ejected percent must be 0..100");
  if (options.retry_ratio < 0) fail("retry ratio must not be negative");
  if (options.max_frame_bytes < 16) fail("max frame bytes must be at least 16");
  BackendTls check(options.tls);  // throws when the files do not make a context
  if (options.unused_system_retention.count() <= 0) fail("unused system retention must be positive");
  if (options.max_systems == 0) fail("max systems must be at least 1");
  if (options.unknown_name_ttl.count() < 0) fail("unknown name ttl must not be negative");
  if (options.empty_discovery_grace.count() < 0) fail("empty discovery grace must not be negative");
  if (options.dns_refresh.count() < 0) fail("dns refresh must not be negative");
  if (options.dns_timeout.count() <= 0) fail("dns timeout must be positive");
  if (!parse_strategy(options.strategy)) fail("unknown strategy '" + options.strategy + "'");
  if (!options.resolver && discovery::parse_discovery_url(options.discovery).tls && !check.enabled()) {
    fail("discovery URL '" + options.discovery + "' speaks TLS: it needs a CA to verify the server with (tls.ca_file)");
  }
}

namespace {

RouterOptions validated(RouterOptions options) {
  RouterCore::validate(options);
  return options;
}

std::vector<asio::any_io_executor> non_empty(std::vector<asio::any_io_executor> workers) {
  if (workers.empty()) throw std::invalid_argument("the router needs at least one event loop");
  return workers;
}

}  // namespace

RouterCore::RouterCore(RouterOptions options, std::vector<asio::any_io_executor> workers)
    : options_(validated(std::move(options))),
      pools_(non_empty(workers)),
      backend_tls_(options_.get().tls),
      health_(options_, workers.front(), pools_.loop_pool(0), backend_tls_),
      systems_(options_, *parse_strategy(options_.get().strategy)) {
  if (!options_.get().trace_log.empty()) {
    try {
      spans_ = std::make_unique<common::SpanLog>(options_.get().trace_log, "router");
    } catch (const std::runtime_error& e) {  // calls still work; tracing is an aid
      common::log().error("{}: no spans are written", e.what());
    }
  }
  for (std::size_t i = 0; i < workers.size(); ++i) {
    auto worker = std::make_unique<Worker>();
    worker->index = i;
    worker->executor = workers[i];
    worker->sweeper = std::make_unique<asio::steady_timer>(workers[i]);
    workers_.push_back(std::move(worker));
  }
  discovery_ = options_.get().resolver
                   ? std::make_unique<discovery::ResolverDiscovery>(workers_[0]->executor, options_.get().resolver)
                   : discovery::make_discovery(options_.get().discovery, workers_[0]->executor,
                                               discovery::DiscoveryOptions{.tls = backend_tls_.context()});
  if (!options_.get().resolver && discovery::parse_discovery_url(options_.get().discovery).tls) {
    discovery_tls_ = backend_tls_.context();  // kept for its expiry: discovery does not follow reloads
  }
}

RouterCore::~RouterCore() {
  if (!stopping_) stop();
}

void RouterCore::start() {
  health_.start();
  for (auto& worker : workers_) {
    std::promise<std::thread::id> id;
    asio::post(worker->executor, [&id] { id.set_value(std::this_thread::get_id()); });
    worker->thread = id.get_future().get();
    asio::co_spawn(worker->executor, sweep_loop(*worker), asio::detached);
  }
  if (options().adaptive_pool) {
    limits_timer_ = std::make_unique<asio::steady_timer>(workers_[0]->executor);
    asio::co_spawn(workers_[0]->executor, limits_loop(), asio::detached);
  }
}

// A system's first backend set is fetched once, however many calls wait for
// it (each until its own deadline: a hung discovery costs a call no more).
asio::awaitable<std::optional<Reply>> RouterCore::learn_first_set(std::shared_ptr<System> system,
                                                                  Clock::time_point deadline) {
  // Named, not a temporary inside the co_await: GCC 12 destroys such
  // temporaries twice (and with them the copy of `system`).
  const std::function<void()> start_fetch = [this, system] {
    asio::co_spawn(workers_[0]->executor, fetch_first_set(system), asio::detached);
  };
  auto failure = co_await system->await_ready(deadline, start_fetch);
  co_return failure;
}

// A name discovery does not know is forgotten at once (and remembered as
// unknown for a while); a system with instances is followed from now on:
// its discovery watch and health checks start.
asio::awaitable<void> RouterCore::fetch_first_set(std::shared_ptr<System> system) {
  system->resolve_host_names_on(workers_[0]->executor, resolve_);
  discovery::Result<discovery::AddressSet> listed;
  try {
    listed = co_await discovery_->list(system->name());
  } catch (const std::exception& e) {
    listed = decltype(listed)::failure(Status::internal, std::string("internal error: ") + e.what());
  }
  if (!listed.ok()) {
    discovery::DiscoveryHealth::process().failed("LIST of '" + system->name() + "'", listed.error);
    system->fetch_failed(listed.error);
    co_return;
  }
  discovery::DiscoveryHealth::process().succeeded();
  if (listed.value.addresses.empty()) {
    systems_.forget_unknown(system);
  } else if (!stopping_) {
    health_.watch(system);
    system->keep_watch(discovery_->watch(system->name(), [raw = system.get()](const discovery::AddressSet& set) {
      raw->set_backends(set);
    }));
  }
  system->set_backends(listed.value);  // its waiters go on
}

void RouterCore::request_stop() {
  if (stopping_.exchange(true)) return;
  health_.stop();
  systems_.stop_all();
  discovery_->shutdown();
  pools_.close_all_blocking();
  if (limits_timer_) asio::post(workers_[0]->executor, [timer = limits_timer_.get()] { timer->cancel(); });
  for (auto& worker : workers_) {
    asio::post(worker->executor, [this, worker = worker.get()] {
      worker->sweeper->cancel();
      pools_.loop_pool(worker->index).close_all();
    });
  }
}

void RouterCore::stop() {
  request_stop();
  // Wait until every worker has run what request_stop() posted (a loop that
  // no longer runs has nothing left to close).
  for (auto& worker : workers_) {
    std::promise<void> done;
    asio::post(worker->executor, [&done] { done.set_value(); });
    done.get_future().wait_for(std::chrono::seconds(5));
  }
}

RouterCore::Worker* RouterCore::current_worker() const {
  auto id = std::this_thread::get_id();
  for (const auto& worker : workers_) {
    if (worker->thread == id) return worker.get();
  }
  return nullptr;
}

RouterCore::Worker& RouterCore::next_worker() {
  return *workers_[next_worker_.fetch_add(1, std::memory_order_relaxed) % workers_.size()];
}

std::shared_ptr<System> RouterCore::system_for_call(std::string_view name, CallOutcome& refused) {
  if (stopping_) {
    refused = CallOutcome{Reply::error(Status::unavailable, "the router is stopping")};
    return nullptr;
  }
  if (name.empty()) {
    refused = CallOutcome{Reply::error(Status::invalid_argument, "empty system name")};
    return nullptr;
  }
  return systems_.find_or_create_cached(name, &refused.reply);
}

bool RouterCore::set_strategy(std::string_view name, std::optional<std::string> system) {
  return systems_.set_strategy(name, std::move(system));
}

RouterStats RouterCore::stats() const {
  RouterStats out;
  for (const auto& system : systems_.all()) out.systems.push_back(system->stats());
  auto counts = systems_.counts();
  out.unknown_names = counts.unknown_names;
  out.unknown_names_evicted = counts.unknown_names_evicted;
  out.systems_refused = counts.refused;
  auto discovery = discovery::DiscoveryHealth::process().figures();
  out.discovery_errors = discovery.errors;
  out.discovery_last_success_unix = discovery.last_success_unix;
  out.backend_tls_handshakes = backend_tls_.handshakes();
  std::sort(out.systems.begin(), out.systems.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

asio::awaitable<void> RouterCore::sweep_loop(Worker& worker) {
  auto period = std::clamp<std::chrono::milliseconds>(options().idle_timeout / 2, std::chrono::milliseconds(50),
                                                      std::chrono::milliseconds(1000));
  while (!stopping_) {
    worker.sweeper->expires_after(period);
    co_await worker.sweeper->async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    pools_.loop_pool(worker.index).sweep(options().idle_timeout);
    if (worker.index == 0) {
      pools_.sweep_blocking(options().idle_timeout);
      systems_.sweep(std::chrono::steady_clock::now());
    }
  }
}

}  // namespace routing::core
