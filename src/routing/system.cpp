#include "routing/system.h"

#include "book/book_systems.h"

#include "routing/zone_capacity.h"
#include "rpc/address.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include "common/log.h"

#include <algorithm>

namespace routing::core {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

// Where a new system's aperture starts on its ring: at random, so that the
// windows of many routers cover the backends evenly on average.
double random_coordinate() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return std::uniform_real_distribution<double>(0.0, 1.0)(rng);
}

}  // namespace

System::System(std::string name, const LiveOptions& live, Strategy strategy)
    : limiter(live.get().pool_size, live.get().max_pending),
      budget(live.get().retry_ratio, live.get().min_retries_per_second),
      live_(live),
      name_(std::move(name)),
      aperture_(random_coordinate()),
      speaks_book_(book::speaks_book(live.get(), name_)),
      backends_(std::make_shared<const BackendList>()),
      connection_peak_(2 * live.get().pool_size),
      adaptive_width_(std::max<std::size_t>(live.get().pool_size, 1)),
      strategy_(strategy) {
  touch();  // a new system counts as used: it is not forgotten before its first call
}

System::~System() { stop_resolving(); }

void System::set_backends(const discovery::AddressSet& set) {
  std::lock_guard publishing(publish_mutex_);
  auto old = backends();
  const auto& addresses = set.addresses;
  if (addresses.empty() && !old->backends.empty() && options().empty_discovery_grace.count() > 0) {
    std::int64_t unset = 0;
    const auto now = Clock::now();
    if (emptied_at_ns_.compare_exchange_strong(unset, now.time_since_epoch().count())) {
      schedule_sweep(now + options().empty_discovery_grace);
      common::log().warn("system '{}': discovery lists no instance; keeping the last {} for {} ms in case it lost "
                         "its registrations (a restart)",
                         name_, old->backends.size(), options().empty_discovery_grace.count());
    }
    mark_ready();
    return;
  }
  emptied_at_ns_ = 0;
  publish(set);
}

void System::apply_overdue_empty_set(Clock::time_point now) {
  // Under the lock set_backends takes: a set discovery delivers meanwhile
  // is published after this empty one (or resets emptied_at_ns_ before it).
  std::lock_guard publishing(publish_mutex_);
  auto since = emptied_at_ns_.load();
  if (since == 0 || now.time_since_epoch().count() - since < options().empty_discovery_grace.count() * 1'000'000) return;
  if (!emptied_at_ns_.compare_exchange_strong(since, 0)) return;  // a fresh set arrived meanwhile
  common::log().warn("system '{}': discovery still lists no instance after {} ms", name_,
                     options().empty_discovery_grace.count());
  publish(discovery::AddressSet{});
}

void System::place(const BackendList& list, const discovery::AddressSet& set) {
  const std::string& zone = options().zone;
  bool weighted = false;
  for (const auto& backend : list.backends) {
    const auto& placement = set.placement_of(backend->address);
    backend->place(placement, zone);
    backend->drained.store(drained_.contains(backend->address), std::memory_order_relaxed);
    weighted |= placement.weight != discovery::Placement::default_weight;
  }
  weighted_.store(weighted, std::memory_order_relaxed);
}

System::DrainResult System::set_drained(const std::string& address, bool drained) {
  std::lock_guard publishing(publish_mutex_);
  if (drained && !drained_.contains(address) && drained_.size() >= max_drained) return DrainResult::too_many;
  if (drained) {
    drained_.insert(address);
  } else {
    drained_.erase(address);
  }
  auto list = backends();
  for (const auto& backend : list->backends) {
    if (backend->address != address) continue;
    backend->drained.store(drained, std::memory_order_relaxed);
    common::log().info("system '{}': backend {} {}", name_, address, drained ? "drained" : "undrained");
    return DrainResult::listed;
  }
  common::log().info("system '{}': {} {} (not listed by discovery now)", name_, address,
                     drained ? "drained" : "undrained");
  return DrainResult::not_listed;
}

std::vector<std::string> System::drained_addresses() const {
  std::lock_guard publishing(publish_mutex_);
  return {drained_.begin(), drained_.end()};
}

std::shared_ptr<BackendList> System::merge(const BackendList& old, const std::vector<std::string>& addresses) {
  // Both sorted by address: one pass finds who stays, joins and leaves (a
  // search of the old list per address cost n^2 string compares: a change
  // of a 5,000-backend system took 25 million).
  auto fresh = std::make_shared<BackendList>();
  fresh->backends.reserve(addresses.size());
  auto kept = old.backends.begin();
  auto leave_before = [&](const std::string* address) {
    for (; kept != old.backends.end() && (!address || (*kept)->address < *address); ++kept) {
      (*kept)->removed = true;  // workers close its idle connections
    }
  };
  for (const auto& address : addresses) {
    leave_before(&address);
    if (kept != old.backends.end() && (*kept)->address == address) {
      fresh->backends.push_back(*kept++);
      continue;
    }
    auto joined = std::make_shared<Backend>(*this, address);
    // A backend joining a serving system ramps up; the first set serves at once.
    if (!old.backends.empty()) begin_slow_start(*joined, Clock::now());
    fresh->backends.push_back(std::move(joined));
  }
  leave_before(nullptr);
  return fresh;
}

void System::publish(const discovery::AddressSet& set) {
  // Discovery lists addresses sorted and once each; a custom resolver may not.
  std::vector<std::string> sorted;
  const std::vector<std::string>* listed = &set.addresses;
  if (!std::is_sorted(listed->begin(), listed->end()) ||
      std::adjacent_find(listed->begin(), listed->end()) != listed->end()) {
    sorted = *listed;
    std::sort(sorted.begin(), sorted.end());
    sorted.erase(std::unique(sorted.begin(), sorted.end()), sorted.end());
    listed = &sorted;
  }
  const auto& addresses = *listed;
  auto old = backends();
  if (old->backends.size() == addresses.size() &&
      std::equal(addresses.begin(), addresses.end(), old->backends.begin(),
                 [](const std::string& address, const auto& backend) { return backend->address == address; })) {
    place(*old, set);  // the same addresses; their placements may have changed
    mark_ready_unless_resolving(*old);  // (e.g. the watch's first delivery): nothing to swap
    return;
  }
  auto fresh = merge(*old, addresses);
  place(*fresh, set);
  follow_host_names(*fresh);
  if (options().adaptive_pool) apply_backend_limits(*fresh, Clock::now());
  {
    std::lock_guard lock(backends_mutex_);
    backends_ = std::move(fresh);
  }
  common::log().info("system '{}': {} backend(s)", name_, addresses.size());
  if (addresses.empty()) schedule_sweep(Clock::now() + options().unused_system_retention);
  mark_ready_unless_resolving(*backends());
}

void System::schedule_sweep(Clock::time_point at) {
  if (agenda_) agenda_->schedule(weak_from_this(), at);
}

std::optional<Clock::time_point> System::next_sweep(Clock::time_point now) const {
  if (auto emptied = emptied_at_ns_.load(); emptied != 0) {
    return Clock::time_point(Clock::duration(emptied)) + options().empty_discovery_grace;
  }
  if (!backends()->backends.empty()) return std::nullopt;
  if (limiter.in_use() > 0 || limiter.waiting() > 0) return now + options().unused_system_retention;
  // Not unused at `now`, so this is later than `now`.
  return Clock::time_point(Clock::duration(last_used_ns_.load(std::memory_order_relaxed))) +
         options().unused_system_retention + std::chrono::milliseconds(1);
}

void System::resolve_host_names_on(asio::any_io_executor loop, DnsRefresher::ResolveFunction resolve) {
  std::lock_guard lock(dns_mutex_);
  dns_loop_ = std::move(loop);
  resolve_ = std::move(resolve);
}

void System::stop_resolving() {
  std::lock_guard lock(dns_mutex_);
  dns_stopped_ = true;
  for (auto& [address, refresher] : refreshers_) refresher->stop();
  refreshers_.clear();
}

void System::follow_host_names(const BackendList& fresh) {
  std::lock_guard lock(dns_mutex_);
  std::erase_if(refreshers_, [&](auto& entry) {
    bool kept = std::any_of(fresh.backends.begin(), fresh.backends.end(),
                            [&](const auto& b) { return b->address == entry.first; });
    if (!kept) entry.second->stop();
    return !kept;
  });
  if (dns_stopped_ || !dns_loop_) return;
  for (const auto& backend : fresh.backends) {
    if (!backend->host_name || refreshers_.contains(backend->address)) continue;
    // Weak: a lookup ending after the backend or the system is gone changes nothing.
    auto publish = [backend = std::weak_ptr(backend), system = weak_from_this()](const asio::ip::tcp::endpoint& found) {
      auto owner = system.lock();
      auto alive = backend.lock();
      if (!owner || !alive) return;
      if (alive->endpoint.set(found)) {
        common::log().info("system '{}': backend {} is at {}", owner->name(), alive->address,
                           rpc::format_host_port(found));
      }
      owner->mark_ready();
    };
    auto failed = [address = backend->address, system = weak_from_this()](const std::string& error) {
      auto owner = system.lock();
      if (!owner) return;
      common::log().warn("system '{}': cannot resolve backend {}: {} (its last address, if any, stays in use)",
                         owner->name(), address, error);
      owner->mark_ready();  // calls get 14 "no healthy backend" if no other backend is usable
    };
    DnsRefresher::Settings settings{options().dns_refresh, options().dns_timeout};
    refreshers_[backend->address] = DnsRefresher::start(*dns_loop_, backend->host_name->host, backend->host_name->port,
                                                        settings, resolve_, publish, failed);
  }
}

// A first set whose backends all wait for their host name's first lookup
// is not ready yet: its first calls wait (each within its deadline) for a
// lookup to end, rather than getting 14 for a name about to resolve.
void System::mark_ready_unless_resolving(const BackendList& list) {
  if (!ready()) {
    const auto now = Clock::now();
    bool any_usable = std::any_of(list.backends.begin(), list.backends.end(),
                                  [&](const auto& b) { return b->available(now); });
    std::lock_guard lock(dns_mutex_);
    if (!any_usable && !refreshers_.empty()) return;  // a lookup's end marks it ready
  }
  mark_ready();
}

void System::mark_ready() {
  std::lock_guard lock(ready_mutex_);
  ready_ = true;
  ready_flag_.store(true, std::memory_order_release);
  for (auto& waiter : ready_waiters_) {
    asio::post(waiter->get_executor(), [waiter] { waiter->cancel(); });
  }
  ready_waiters_.clear();
}

asio::awaitable<std::optional<Reply>> System::await_ready(Clock::time_point deadline,
                                                          const std::function<void()>& start_fetch) {
  std::shared_ptr<asio::steady_timer> waiter;
  bool first = false;
  {
    std::lock_guard lock(ready_mutex_);
    if (ready_) co_return std::nullopt;
    waiter = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor, deadline);
    ready_waiters_.push_back(waiter);
    first = !std::exchange(fetching_, true);
  }
  if (first) start_fetch();
  co_await waiter->async_wait(asio::as_tuple(asio::use_awaitable));
  std::lock_guard lock(ready_mutex_);
  if (ready_) co_return std::nullopt;
  auto mine = std::find(ready_waiters_.begin(), ready_waiters_.end(), waiter);
  if (mine != ready_waiters_.end()) {  // still queued: its deadline came first
    ready_waiters_.erase(mine);
    co_return Reply::error(Status::deadline_exceeded, "deadline exceeded waiting for discovery of '" + name_ + "'");
  }
  co_return Reply::error(Status::unavailable, "discovery of '" + name_ + "' failed: " + fetch_error_);
}

void System::fetch_failed(const std::string& error) {
  std::lock_guard lock(ready_mutex_);
  fetching_ = false;
  fetch_error_ = error;
  for (auto& waiter : ready_waiters_) asio::post(waiter->get_executor(), [waiter] { waiter->cancel(); });
  ready_waiters_.clear();
}

bool System::unused_since(Clock::time_point cutoff) const {
  if (!backends()->backends.empty() || limiter.in_use() != 0 || limiter.waiting() != 0 ||
      last_used_ns_.load(std::memory_order_relaxed) >= cutoff.time_since_epoch().count()) {
    return false;
  }
  std::lock_guard publishing(publish_mutex_);
  return drained_.empty();  // an operator's drain is kept until undrained
}

void System::retire() {
  retired_ = true;
  stop_watch();
  stop_resolving();
}

void System::keep_watch(std::unique_ptr<discovery::WatchHandle> watch) {
  std::lock_guard lock(watch_mutex_);
  if (retired_) watch->stop();
  watch_ = std::move(watch);
}

void System::stop_watch() {
  std::lock_guard lock(watch_mutex_);
  if (watch_) watch_->stop();
}

namespace {

// Candidates (their index in the list, and what the strategy weighs) on the
// stack: no allocation per call for up to 64 backends.
class CandidateSet {
 public:
  CandidateSet(const CandidateSet&) = delete;  // points into itself
  explicit CandidateSet(std::size_t backends) {
    if (backends > inline_capacity) {
      many_index_.resize(backends);
      many_.resize(backends);
      index_ = many_index_.data();
      candidates_ = many_.data();
    }
  }
  void add(std::size_t index, Candidate candidate) {
    index_[count_] = index;
    candidates_[count_++] = candidate;
  }
  // Keeps the candidates `keep` says yes to (in their order), unless that
  // would leave none. Asks once per candidate: `keep` may draw at random.
  template <class Keep>
  void prefer(Keep keep) {
    std::size_t kept = 0;
    for (std::size_t i = 0; i < count_; ++i) {
      if (!keep(index_[i])) continue;
      std::swap(index_[kept], index_[i]);
      std::swap(candidates_[kept], candidates_[i]);
      ++kept;
    }
    if (kept > 0) count_ = kept;  // none kept: no swap happened, all stay
  }
  // Keeps two candidates drawn at random (the power of two choices), so
  // what is costly to weigh is weighed for two only.
  void narrow_to_two(std::mt19937_64& rng, bool weighted) {
    if (count_ <= 2) return;
    auto [a, b] = draw_two(candidates(), rng, weighted);
    std::swap(index_[0], index_[a]);
    std::swap(candidates_[0], candidates_[a]);
    if (b == 0) b = a;  // the first swap moved it
    std::swap(index_[1], index_[b]);
    std::swap(candidates_[1], candidates_[b]);
    count_ = 2;
  }
  Candidate& candidate(std::size_t i) { return candidates_[i]; }
  std::size_t size() const { return count_; }
  std::size_t index(std::size_t i) const { return index_[i]; }
  std::span<const Candidate> candidates() const { return {candidates_, count_}; }

 private:
  static constexpr std::size_t inline_capacity = 64;
  std::array<std::size_t, inline_capacity> inline_index_;
  std::array<Candidate, inline_capacity> inline_;
  std::vector<std::size_t> many_index_;
  std::vector<Candidate> many_;
  std::size_t* index_ = inline_index_.data();
  Candidate* candidates_ = inline_.data();
  std::size_t count_ = 0;
};

}  // namespace

template <class Visit>
void System::walk_aperture(const BackendList& list, bool zoned, std::size_t width, Visit visit) const {
  const std::size_t n = list.backends.size();
  std::size_t near = 0, far = 0;
  aperture_.walk(n, width, [&](std::size_t i) {
    const Backend& backend = *list.backends[i];
    std::size_t& taken = !zoned || backend.local.load(std::memory_order_relaxed) ? near : far;
    if (taken < width && visit(i, backend)) ++taken;
    return near < width || (zoned && far < width);
  });
}

std::shared_ptr<Backend> System::pick(const BackendList& list, std::span<Backend* const> excluded,
                                     Clock::time_point now) {
  const auto recent_failures_since = (now - failed_recently).time_since_epoch().count();
  bool any_failed_recently = false;
  const RouterOptions& opts = options();  // one version for the whole pick
  // Placements cost a pick only where they are used: zones with a router
  // zone, weights once a backend has one (BM_Pick, docs/performance.md).
  const bool zoned = !opts.zone.empty();
  const bool weighted = weighted_.load(std::memory_order_relaxed);
  auto weight_of = [weighted](const Backend& backend) {
    return weighted ? backend.weight.load(std::memory_order_relaxed) : discovery::Placement::default_weight;
  };
  ZoneCapacity zone;
  if (zoned) {
    // The locality rule weighs the whole zone, not only the window.
    for (const auto& backend : list.backends) {
      zone.count(backend->local.load(std::memory_order_relaxed), weight_of(*backend), backend->available(now));
    }
  }
  // Read once: the candidate set is sized by it.
  const std::size_t width = Aperture::width(list.backends.size(), aperture_width());
  CandidateSet set(std::min(list.backends.size(), zoned ? 2 * width : width));
  walk_aperture(list, zoned, width, [&](std::size_t i, const Backend& backend) {
    if (!backend.available(now)) return false;
    if (std::find(excluded.begin(), excluded.end(), &backend) != excluded.end()) return false;
    set.add(i, Candidate{static_cast<std::uint32_t>(backend.in_flight.load(std::memory_order_relaxed)),
                         weight_of(backend), 0});
    any_failed_recently |= backend.failed_ns.load(std::memory_order_relaxed) > recent_failures_since;
    return true;
  });
  if (set.size() == 0) return nullptr;
  if (any_failed_recently) {
    // A backend whose attempt just failed (it may be dying: its process
    // still holds sockets that take requests it will never answer) waits
    // out `failed_recently` while another can take the call.
    set.prefer([&](std::size_t i) {
      return list.backends[i]->failed_ns.load(std::memory_order_relaxed) <= recent_failures_since;
    });
  }
  thread_local std::mt19937_64 rng{std::random_device{}()};
  if (opts.adaptive_pool) {
    // Below their limit first: one that is at it would queue the call.
    set.prefer([&](std::size_t i) {
      const Backend& b = *list.backends[i];
      return b.in_flight.load(std::memory_order_relaxed) < b.limit.load(std::memory_order_relaxed);
    });
  }
  if (zone.has_remote) {
    // Near first while the router's zone has the capacity (zone_capacity.h);
    // after the adaptive limits' preference, so that a zone whose backends
    // are all at their limit spills its calls rather than queue them.
    const double near_share = zone.near_share();
    const bool stay_near = near_share >= 1.0 || std::uniform_real_distribution<double>(0.0, 1.0)(rng) < near_share;
    set.prefer([&](std::size_t i) { return list.backends[i]->local.load(std::memory_order_relaxed) == stay_near; });
  }
  if (opts.slow_start.count() > 0) {
    // A ramping backend takes part in this pick with its share's chance.
    std::uniform_real_distribution<double> draw(0.0, 1.0);
    set.prefer([&](std::size_t i) {
      double share = list.backends[i]->ramp_share(now, opts.slow_start);
      return share >= 1.0 || draw(rng) < share;
    });
  }
  if (width < list.backends.size() && open_connections.load(std::memory_order_relaxed) >= connection_limit()) {
    // Last of the preferences (locality, adaptive limits and slow start
    // come first). Narrowed and at the bound on connections: a backend without one to
    // spare would cost closing another's connection and connecting afresh,
    // on most calls once calls in flight reach the bound (measured: 0.3x
    // the calls/s of one backend; docs/performance.md, "Issue 25").
    set.prefer([&](std::size_t i) { return list.backends[i]->has_connection_to_spare(); });
  }
  const Strategy strategy_now = strategy();
  if (strategy_now == Strategy::peak_ewma) {
    // Its two choices drawn here, so that only their estimates are computed.
    set.narrow_to_two(rng, weighted);
    for (std::size_t i = 0; i < set.size(); ++i) {
      set.candidate(i).latency =
          list.backends[set.index(i)]->peak_latency.at(now.time_since_epoch(), opts.peak_ewma_decay);
    }
  }
  auto ticket = ticket_.fetch_add(1, std::memory_order_relaxed);
  auto chosen = list.backends[set.index(pick_backend(strategy_now, set.candidates(), ticket, rng, weighted))];
  if (!chosen->local.load(std::memory_order_relaxed)) cross_zone_picks.fetch_add(1, std::memory_order_relaxed);
  return chosen;
}

std::vector<std::shared_ptr<Backend>> System::in_aperture(const BackendList& list, Clock::time_point now) const {
  std::vector<std::shared_ptr<Backend>> window;
  walk_aperture(list, !options().zone.empty(), Aperture::width(list.backends.size(), aperture_width()),
                [&](std::size_t i, const Backend& backend) {
    window.push_back(list.backends[i]);
    return backend.available(now);
  });
  return window;
}

void System::begin_slow_start(Backend& backend, Clock::time_point from) {
  if (options().slow_start.count() <= 0) return;
  backend.ramp_from_ns.store(from.time_since_epoch().count(), std::memory_order_relaxed);
}

void System::update_limits(std::chrono::nanoseconds window, Clock::time_point now) {
  auto list = backends();
  std::chrono::nanoseconds busy{0};  // the calls' latencies summed over the window
  bool at_capacity = false;
  for (const auto& backend : list->backends) {
    std::lock_guard lock(backend->adaptive_mutex);
    const auto measured = backend->window.take(window);
    busy += measured.latency_sum;
    backend->limit = backend->adaptive.update(measured, now.time_since_epoch());
    at_capacity = at_capacity || backend->adaptive.at_capacity();
  }
  at_capacity_.store(at_capacity, std::memory_order_relaxed);
  // Calls still in flight count too: long ones finish in no window.
  if (window.count() > 0) {
    const auto completed = static_cast<std::size_t>((busy + window - std::chrono::nanoseconds(1)) / window);
    demand_.store(std::max(completed, limiter.in_use()));
  }
  apply_backend_limits(*list, now);
}

void System::apply_backend_limits(const BackendList& list, Clock::time_point now) {
  // The aperture: from this router's place on the ring, available backends
  // until their limits hold twice the calls in flight of late (and at least
  // pool_size of them, the width of a fixed pool at that size). Only these
  // get calls, so only their limits count: summed over every backend, a
  // system of 1,000 started at 1,000 x its start limit and never narrowed.
  const std::size_t wanted = std::max(2 * demand_.load(std::memory_order_relaxed), options().adaptive_min_pool);
  const std::size_t min_width = std::max<std::size_t>(options().pool_size, 1);
  std::size_t width = 0, sum = 0;
  aperture_.walk_from_place(list.backends.size(), [&](std::size_t i) {
    const Backend& backend = *list.backends[i];
    if (backend.available(now)) {
      ++width;
      sum += backend.limit.load(std::memory_order_relaxed);
    }
    return width < min_width || sum < wanted;
  });
  adaptive_width_.store(std::max<std::size_t>(width, 1), std::memory_order_relaxed);
  limiter.set_limit(std::clamp(sum, options().adaptive_min_pool, options().adaptive_max_pool));
  // The limits loop and a new backend set may race here: one may lose its
  // step, but connection_limit() never goes below twice the limit in force.
  const std::size_t peak = connection_peak_.load(std::memory_order_relaxed);
  connection_peak_.store(std::max(2 * limiter.limit(), peak - (peak + 63) / 64), std::memory_order_relaxed);
}

void System::record_success(Backend& backend, Clock::time_point now) {
  backend.answered_ns.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  if (!backend.failing.load(std::memory_order_relaxed)) return;  // the common case: no lock
  std::lock_guard lock(backend.outlier_mutex);
  backend.outlier.on_success();
  backend.failing = false;
}

void System::record_missed_deadline(Backend& backend, Clock::time_point arrival, Clock::time_point sent_at,
                                    Clock::time_point deadline) {
  // Sent with less than half its time left (a call that waited long in the
  // queue): the router's lateness, not the backend, ended it.
  if (!QueueAdmission::fair_chance(arrival, sent_at, deadline)) return;
  auto list = backends();
  const auto since = sent_at.time_since_epoch().count();
  bool peers_answered = std::any_of(list->backends.begin(), list->backends.end(), [&](const auto& other) {
    return other.get() != &backend && other->answered_ns.load(std::memory_order_relaxed) > since;
  });
  if (peers_answered) record_failure(backend);
}

void System::record_failure(Backend& backend) {
  auto now = Clock::now();
  backend.failed_ns.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  backend.failed_attempts.fetch_add(1, std::memory_order_relaxed);
  std::lock_guard lock(backend.outlier_mutex);
  backend.failing = true;
  if (!backend.outlier.on_failure(options().eject_after, now)) return;
  auto list = backends();
  std::size_t ejected = std::count_if(list->backends.begin(), list->backends.end(),
                                      [&](const auto& b) { return b->ejected(now); });
  // Never eject past the share: a partial outage must not become a total one.
  if ((ejected + 1) * 100 > list->backends.size() * options().max_ejected_percent) return;
  backend.outlier.eject(now, options().base_ejection_time, options().max_ejection_time);
  backend.ejected_until_ns = backend.outlier.ejected_until().time_since_epoch().count();
  begin_slow_start(backend, backend.outlier.ejected_until());  // the ramp starts when the ejection ends
  common::log().warn("system '{}': ejected backend {} (ejection #{})", name_, backend.address,
               backend.outlier.ejections());
}

void System::set_strategy(Strategy strategy, bool pinned) {
  strategy_ = strategy;
  strategy_pinned_ = pinned;
}

SystemStats System::stats() const {
  SystemStats out;
  out.name = name_;
  out.strategy = std::string(strategy_name(strategy()));
  out.pool_size = limiter.limit();
  out.adaptive_pool = options().adaptive_pool;
  out.max_pending = limiter.max_pending();
  out.in_flight = limiter.in_use();
  out.waiting = limiter.waiting();
  out.shed = admission.shed.load(std::memory_order_relaxed);
  out.queue_wait = admission.queue_wait.snapshot();
  out.mean_hold_seconds = std::chrono::duration<double>(admission.mean_hold()).count();
  out.open_connections = open_connections.load();
  out.retries = retries.load();
  out.retries_denied = retries_denied.load();
  out.cross_zone_calls = cross_zone_picks.load(std::memory_order_relaxed);
  out.calls_by_status = calls.snapshot();
  out.calls_by_procedure = calls_by_procedure.snapshot();
  out.latency = latency.snapshot();
  auto now = Clock::now();
  // Held for the loop: `backends()->backends` would let the list go with the
  // temporary shared_ptr, and a set published meanwhile would free it under
  // the loop (routerd crashed when /metrics was read during discovery churn).
  const auto list = backends();
  for (const auto& backend : list->backends) {
    BackendStats b;
    b.address = backend->address;
    b.zone = backend->placement().zone;
    b.weight = backend->weight.load(std::memory_order_relaxed);
    b.local = backend->local.load(std::memory_order_relaxed);
    b.drained = backend->drained.load(std::memory_order_relaxed);
    b.healthy = backend->healthy.load();
    b.resolved = backend->endpoint.known();
    b.ejected = backend->ejected(now);
    b.connect_failures = backend->connect_failures.load(std::memory_order_relaxed);
    b.connect_timeouts = backend->connect_timeouts.load(std::memory_order_relaxed);
    b.health_check_failures = backend->health_check_failures.load(std::memory_order_relaxed);
    {
      std::lock_guard lock(backend->outlier_mutex);
      b.ejections = backend->outlier.ejections();
      b.consecutive_failures = backend->outlier.consecutive_failures();
    }
    b.in_flight = backend->in_flight.load();
    b.idle_connections = backend->idle_connections.load();
    auto open = backend->open_connections.load();
    b.active_connections = open > b.idle_connections ? open - b.idle_connections : 0;
    b.calls_by_status = backend->calls.snapshot();
    b.latency = backend->latency.snapshot();
    if (options().adaptive_pool) {
      std::lock_guard lock(backend->adaptive_mutex);
      const auto& adaptive = backend->adaptive;
      b.limit = adaptive.limit();
      b.arrival_rate = adaptive.arrival_rate();
      b.latency_seconds = std::chrono::duration<double>(adaptive.latency()).count();
      b.min_latency_seconds = std::chrono::duration<double>(adaptive.min_latency()).count();
      b.queueing = adaptive.queueing();
    }
    b.slow_start_share = backend->ramp_share(now, options().slow_start);
    out.backends.push_back(std::move(b));
  }
  return out;
}

}  // namespace routing::core
