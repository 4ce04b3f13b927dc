#include "routing/router_core.h"

#include "common/log.h"
#include "discovery/discovery_url.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include <future>

namespace routing::core {
namespace asio = boost::asio;

void RouterCore::validate(const RouterOptions& options) {
  auto fail = [](const std::string& why) { throw std::invalid_argument(why); };
  if (options.pool_size == 0) fail("pool size must be at least 1");
  if (options.adaptive_pool) {
    if (options.adaptive_min_pool == 0) fail("adaptive min pool must be at least 1");
    if (options.adaptive_max_pool < options.adaptive_min_pool) fail("adaptive max pool must be at least its min");
    if (options.adaptive_interval.count() <= 0) fail("adaptive interval must be positive");
  }
  if (options.peak_ewma_decay.count() <= 0) fail("peak-ewma decay must be positive");
  if (options.slow_start.count() < 0) fail("slow start must not be negative");
  if (options.request_timeout.count() <= 0) fail("request timeout must be positive");
  if (options.connect_timeout.count() <= 0) fail("connect timeout must be positive");
  if (options.idle_timeout.count() <= 0) fail("idle timeout must be positive");
  if (options.health_check_interval.count() < 0) fail("health check interval must not be negative");
  if (options.health_check_timeout.count() <= 0) fail("health check timeout must be positive");
  if (options.unhealthy_after == 0) fail("unhealthy_after must be at least 1");
  if (options.eject_after == 0) fail("eject_after must be at least 1");
  if (options.max_ejected_percent > 100) fail("max ejected percent must be 0..100");
  if (options.retry_ratio < 0) fail("retry ratio must not be negative");
  if (options.max_frame_bytes < 16) fail("max frame bytes must be at least 16");
  if (options.unused_system_retention.count() <= 0) fail("unused system retention must be positive");
  if (options.empty_discovery_grace.count() < 0) fail("empty discovery grace must not be negative");
  if (!parse_strategy(options.strategy)) fail("unknown strategy '" + options.strategy + "'");
  discovery::parse_discovery_url(options.discovery);
}

namespace {
std::atomic<std::uint64_t> next_core_id{1};
}  // namespace

RouterCore::RouterCore(RouterOptions options, std::vector<asio::any_io_executor> shards)
    : id_(next_core_id.fetch_add(1)), options_(std::move(options)) {
  validate(options_);
  auto strategy = parse_strategy(options_.strategy);
  if (!strategy) throw std::invalid_argument("unknown strategy '" + options_.strategy + "'");
  default_strategy_ = *strategy;
  if (shards.empty()) throw std::invalid_argument("the router needs at least one event loop");
  for (auto& executor : shards) {
    auto shard = std::make_unique<Shard>();
    shard->executor = executor;
    shard->sweeper = std::make_unique<asio::steady_timer>(executor);
    shards_.push_back(std::move(shard));
  }
  discovery_ = discovery::make_discovery(options_.discovery, shards_[0]->executor);
}

RouterCore::~RouterCore() {
  if (!stopping_) stop();
}

void RouterCore::start() {
  for (auto& shard : shards_) {
    std::promise<std::thread::id> id;
    asio::post(shard->executor, [&id] { id.set_value(std::this_thread::get_id()); });
    shard->thread = id.get_future().get();
    asio::co_spawn(shard->executor, sweep_loop(*shard), asio::detached);
  }
  if (options_.adaptive_pool) {
    limits_timer_ = std::make_unique<asio::steady_timer>(shards_[0]->executor);
    asio::co_spawn(shards_[0]->executor, limits_loop(), asio::detached);
  }
}

void RouterCore::request_stop() {
  if (stopping_.exchange(true)) return;
  {
    std::lock_guard lock(systems_mutex_);
    for (auto& [name, system] : systems_) system->stop_watch();
    for (auto& timer : health_timers_) asio::post(timer->get_executor(), [timer] { timer->cancel(); });
  }
  discovery_->shutdown();
  {
    std::lock_guard lock(blocking_mutex_);
    blocking_pool_.close_all();
  }
  if (limits_timer_) asio::post(shards_[0]->executor, [timer = limits_timer_.get()] { timer->cancel(); });
  for (auto& shard : shards_) {
    asio::post(shard->executor, [shard = shard.get()] {
      shard->sweeper->cancel();
      shard->pool.close_all();
    });
  }
}

void RouterCore::stop() {
  request_stop();
  // Wait until every shard has run what request_stop() posted (a loop that no
  // longer runs has nothing left to close).
  for (auto& shard : shards_) {
    std::promise<void> done;
    asio::post(shard->executor, [&done] { done.set_value(); });
    done.get_future().wait_for(std::chrono::seconds(5));
  }
}

RouterCore::Shard* RouterCore::current_shard() const {
  auto id = std::this_thread::get_id();
  for (const auto& shard : shards_) {
    if (shard->thread == id) return shard.get();
  }
  return nullptr;
}

bool RouterCore::on_shard_thread() const { return current_shard() != nullptr; }

std::shared_ptr<System> RouterCore::find_or_create(const std::string& name) {
  std::shared_ptr<System> system;
  {
    std::lock_guard lock(systems_mutex_);
    auto& slot = systems_[name];
    if (slot) return slot;
    slot = system = std::make_shared<System>(name, options_, default_strategy_);
    if (options_.health_check_interval.count() > 0) {
      auto timer = std::make_shared<asio::steady_timer>(shards_[0]->executor);
      health_timers_.push_back(timer);
      system->set_health_timer(timer);
    }
  }
  // Outside the lock: starting a watch or a loop may run code inline.
  // Follow discovery for this system from now on; the first call fetches the
  // set itself (ensure_ready) so it need not wait for the watch.
  system->keep_watch(discovery_->watch(name, [raw = system.get()](const discovery::AddressSet& set) {
    raw->set_backends(set.addresses);
  }));
  if (auto timer = system->health_timer()) {
    asio::co_spawn(shards_[0]->executor, health_loop(system, timer), asio::detached);
  }
  return system;
}

std::shared_ptr<System> RouterCore::find_or_create_cached(std::string_view name) {
  struct Entry {
    std::uint64_t core = 0;
    std::string name;
    std::weak_ptr<System> system;  // weak: a forgotten system (or router) is not kept alive
  };
  thread_local std::array<Entry, 4> cache;
  thread_local std::size_t next_slot = 0;
  for (auto& entry : cache) {
    if (entry.core != id_ || entry.name != name) continue;
    if (auto system = entry.system.lock(); system && !system->retired()) return system;
  }
  auto system = find_or_create(std::string(name));
  cache[next_slot++ % cache.size()] = Entry{id_, std::string(name), system};
  return system;
}

bool RouterCore::set_strategy(std::string_view name, std::optional<std::string> system) {
  auto strategy = parse_strategy(name);
  if (!strategy) return false;
  if (system) {
    find_or_create(*system)->set_strategy(*strategy, true);
    return true;
  }
  std::lock_guard lock(systems_mutex_);
  default_strategy_ = *strategy;
  for (auto& [name, each] : systems_) each->set_strategy(*strategy, false);
  return true;
}

RouterStats RouterCore::stats() const {
  std::vector<std::shared_ptr<System>> systems;
  {
    std::lock_guard lock(systems_mutex_);
    for (const auto& [name, system] : systems_) systems.push_back(system);
  }
  RouterStats out;
  for (const auto& system : systems) out.systems.push_back(system->stats());
  std::sort(out.systems.begin(), out.systems.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
  return out;
}

void RouterCore::sweep_systems() {
  auto now = std::chrono::steady_clock::now();
  auto cutoff = now - options_.unused_system_retention;
  std::lock_guard lock(systems_mutex_);
  for (auto it = systems_.begin(); it != systems_.end();) {
    it->second->apply_overdue_empty_set(now);
    if (!it->second->unused_since(cutoff)) {
      ++it;
      continue;
    }
    common::log().debug("forgetting system '{}': no instances, no calls", it->first);
    it->second->retire();
    health_timers_.erase(std::remove_if(health_timers_.begin(), health_timers_.end(),
                                        [](const auto& timer) { return timer.use_count() == 1; }),
                         health_timers_.end());
    it = systems_.erase(it);
  }
}

asio::awaitable<void> RouterCore::sweep_loop(Shard& shard) {
  auto period = std::clamp<std::chrono::milliseconds>(options_.idle_timeout / 2, std::chrono::milliseconds(50),
                                                      std::chrono::milliseconds(1000));
  while (!stopping_) {
    shard.sweeper->expires_after(period);
    co_await shard.sweeper->async_wait(asio::as_tuple(asio::use_awaitable));
    if (stopping_) break;
    shard.pool.sweep(options_.idle_timeout);
    if (&shard == shards_[0].get()) {
      {
        std::lock_guard lock(blocking_mutex_);
        blocking_pool_.sweep(options_.idle_timeout);
      }
      sweep_systems();
    }
  }
}

}  // namespace routing::core
