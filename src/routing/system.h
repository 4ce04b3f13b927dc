#pragma once
// Everything the router knows of one system: its backends (from discovery),
// strategy, concurrency limiter (the seed's semaphore), retry budget and
// figures. Shared by all workers; the backend list is an immutable snapshot
// swapped atomically when discovery reports a change.
#include "discovery/discovery.h"
#include "routing/aperture.h"
#include "routing/backend.h"
#include "routing/dns_refresher.h"
#include "routing/admission.h"
#include "routing/limiter.h"
#include "routing/procedure_counters.h"
#include "routing/live_options.h"
#include "routing/retry_budget.h"
#include "routing/sweep_agenda.h"
#include "routing/strategy.h"

#include <routing/router.h>
#include <routing/stats.h>

#include <boost/asio/steady_timer.hpp>

#include <map>
#include <set>
#include <random>

namespace routing::core {

class System : public std::enable_shared_from_this<System> {
 public:
  // `live`: the router's settings (outlive the system), read afresh each use.
  System(std::string name, const LiveOptions& live, Strategy strategy);
  ~System();

  const std::string& name() const { return name_; }
  // Its backends are the book's services (RouterOptions::book_systems):
  // calls take the book's transport, checks are TCP connects.
  bool speaks_book() const { return speaks_book_; }
  std::shared_ptr<const BackendList> backends() const {
    std::lock_guard lock(backends_mutex_);
    return backends_;
  }
  // Publishes a new set: backends still present keep their state (a new
  // placement is taken). An empty set replacing a non-empty one is held
  // back (RouterOptions::empty_discovery_grace).
  void set_backends(const discovery::AddressSet& set);
  // The same, every address without a placement (tests, plain lists).
  void set_backends(const std::vector<std::string>& addresses) {
    discovery::AddressSet set;
    set.addresses = addresses;
    set_backends(set);
  }

  // Maintenance (routerd's DRAIN/UNDRAIN, Router::set_drained): a drained
  // address gets no new calls; its calls in flight finish. Remembered by
  // address, so it holds while the backend re-registers or restarts, until
  // undrained (a system with drains is never forgotten as unused). At most
  // max_drained per system.
  static constexpr std::size_t max_drained = 1000;
  enum class DrainResult { listed, not_listed, too_many };
  DrainResult set_drained(const std::string& address, bool drained);
  std::vector<std::string> drained_addresses() const;
  // Publishes a held-back empty set once its grace has passed (the sweep calls it).
  void apply_overdue_empty_set(std::chrono::steady_clock::time_point now);

  // True once a first backend set is known (then ensure_ready returns at once).
  bool ready() const { return ready_flag_.load(std::memory_order_acquire); }
  // Waits until a first backend set is known (nullopt), its fetch failed
  // (14) or `deadline` passed (4), whichever comes first. The first waiter
  // calls `start_fetch`, once for all of them (RouterCore::learn_first_set).
  boost::asio::awaitable<std::optional<Reply>> await_ready(std::chrono::steady_clock::time_point deadline,
                                                           const std::function<void()>& start_fetch);
  // The first set's fetch failed: its waiters answer 14 with `error`, and
  // the next call fetches again.
  void fetch_failed(const std::string& error);
  // Backends named by host name are looked up on `loop` by `resolve`, off
  // the calling thread, and again every RouterOptions::dns_refresh
  // (dns_refresher.h); until their first answer they are not available.
  // Without this (unit tests) they stay unresolved. RouterCore sets it
  // before the system's first set.
  void resolve_host_names_on(boost::asio::any_io_executor loop, DnsRefresher::ResolveFunction resolve);
  // Ends every lookup and refresh (retire, the router stopping); later sets start none.
  void stop_resolving();
  void keep_watch(std::unique_ptr<discovery::WatchHandle> watch);
  void stop_watch();

  // The backend for the next attempt among the available ones not in
  // `excluded` (and, with adaptive limits, below their limit if any is;
  // ramping ones by their slow-start share; one whose attempt failed within
  // `failed_recently` only if every other did too); nullptr if none.
  // Only the backends in this router's aperture (aperture.h) are looked at:
  // the cost of a pick grows with the window, not with the system.
  static constexpr std::chrono::milliseconds failed_recently{100};
  std::shared_ptr<Backend> pick(const BackendList& list, std::span<Backend* const> excluded,
                                std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  // The backends picks may choose now, in ring order: the aperture's window
  // with the unavailable backends it reaches past (every backend when the
  // window is not narrower than the list). Health checks cover these.
  std::vector<std::shared_ptr<Backend>> in_aperture(const BackendList& list,
                                                    std::chrono::steady_clock::time_point now) const;
  const Aperture& aperture() const { return aperture_; }

  // At most this many connections open to the system: its limit (fixed
  // pools); adaptive pools twice the limit's recent peak, never less than
  // twice the limit itself, so that connections do not follow each dip of
  // a limit that moves every window (apply_backend_limits); each worker
  // also keeps its own idle ones per backend.
  std::size_t connection_limit() const {
    if (!options().adaptive_pool) return limiter.limit();
    return std::max(connection_peak_.load(std::memory_order_relaxed), 2 * limiter.limit());
  }
  // How many available backends picks look at (Aperture): a fixed pool's
  // size; an adaptive pool's sized by demand (apply_backend_limits).
  std::size_t aperture_width() const {
    if (!options().adaptive_pool) return limiter.limit();
    return adaptive_width_.load(std::memory_order_relaxed);
  }
  // Adaptive pools: folds one window of each backend's measurements into its
  // limit and sets the system's to their sum over the aperture (the limits
  // loop calls it).
  void update_limits(std::chrono::nanoseconds window, std::chrono::steady_clock::time_point now);
  // Slow start (RouterOptions::slow_start): `backend` ramps up from `from`.
  void begin_slow_start(Backend& backend, std::chrono::steady_clock::time_point from);

  // Passive health: success resets, failures may eject (within the share).
  void record_success(Backend& backend, std::chrono::steady_clock::time_point now);
  void record_failure(Backend& backend);
  // A call's deadline passed while `backend` had its request since
  // `sent_at`: a failure toward ejection only if another backend of the
  // system answered meanwhile (then this one is the outlier; when all are
  // slow, the system is, and ejecting would only load the rest more), and
  // only if the call had a fair chance (QueueAdmission::fair_chance: sent
  // with at least half its time left).
  void record_missed_deadline(Backend& backend, std::chrono::steady_clock::time_point arrival,
                              std::chrono::steady_clock::time_point sent_at,
                              std::chrono::steady_clock::time_point deadline);

  void set_strategy(Strategy strategy, bool pinned);
  Strategy strategy() const { return strategy_.load(); }
  bool strategy_pinned() const { return strategy_pinned_.load(); }

  SystemStats stats() const;

  // Marks a call; a system without instances that nobody calls is retired.
  // Stored at most every 100 ms: every call touches, from every thread.
  void touch(std::chrono::steady_clock::time_point at = std::chrono::steady_clock::now()) {
    auto now = at.time_since_epoch().count();
    if (now - last_used_ns_.load(std::memory_order_relaxed) > 100'000'000) {
      last_used_ns_.store(now, std::memory_order_relaxed);
    }
  }
  bool unused_since(std::chrono::steady_clock::time_point cutoff) const;
  // Tells `agenda` when this system next needs the registry's sweep (its
  // set emptied: forget it once unused; an empty set held back: apply it).
  // Set by the registry before the system is handed out.
  void schedule_sweeps_on(std::shared_ptr<SweepAgenda> agenda) { agenda_ = std::move(agenda); }
  // When the sweep should look at it again after a visit at `now`; nullopt
  // while it has instances (it cannot be forgotten then).
  std::optional<std::chrono::steady_clock::time_point> next_sweep(std::chrono::steady_clock::time_point now) const;
  void retire();
  bool retired() const { return retired_.load(); }

  ConcurrencyLimiter limiter;
  QueueAdmission admission;  // which calls may queue for the limiter (early shedding)
  // Until when (steady clock, ns) blocking calls go through a worker: set
  // while they overlap (call/blocking_calls.cpp).
  std::atomic<std::int64_t> blocking_company_until{0};
  // The longest a call should expect to queue for a permit, besides its
  // deadline: with adaptive pools, a quarter of a mean hold (the limit is
  // what the backends take at near their fastest: a queue of a quarter of a
  // round of permits keeps them busy, a longer one only adds latency:
  // measured in docs/adaptive.md "Overload", a half doubled admitted calls'
  // p99 for 2% more goodput); with a fixed pool size, no bound but the
  // deadline (the user sized the queue).
  // Only under overload (within the last second a call was refused for its
  // deadline, or a deadline passed in the queue: QueueAdmission::overloaded) and once a backend's limit was
  // found at its capacity (cut for queueing while it bound): while the
  // limits still grow toward a burst's needs, or callers merely queue (a
  // closed loop), calls wait as with a fixed pool.
  std::optional<std::chrono::steady_clock::duration> max_queue_wait(std::chrono::steady_clock::time_point now) const {
    if (!options().adaptive_pool || !at_capacity_.load(std::memory_order_relaxed) || !admission.overloaded(now)) {
      return std::nullopt;
    }
    return admission.mean_hold() / 4;
  }
  RetryBudget budget;
  std::atomic<std::size_t> open_connections{0};
  std::atomic<std::uint64_t> retries{0};
  std::atomic<std::uint64_t> retries_denied{0};
  // Attempts sent to a backend outside the router's zone (RouterOptions::zone).
  std::atomic<std::uint64_t> cross_zone_picks{0};
  StatusCounters calls;
  ProcedureCounters calls_by_procedure;
  Histogram latency;
  // The settings in force now (they may change between two reads).
  const RouterOptions& options() const { return live_.get(); }

 private:
  void mark_ready();
  void mark_ready_unless_resolving(const BackendList& list);
  // Starts looking up the host names new in `fresh`, stops those gone from it.
  void follow_host_names(const BackendList& fresh);
  void publish(const discovery::AddressSet& set);
  // The backend list for `addresses` (sorted, each once): old's backends
  // that stay (the same objects: their connections and figures go on), new
  // ones for those that join; marks the ones that leave removed.
  std::shared_ptr<BackendList> merge(const BackendList& old, const std::vector<std::string>& addresses);
  // Gives each backend of `list` its placement in `set` and its drain.
  void place(const BackendList& list, const discovery::AddressSet& set);
  void schedule_sweep(std::chrono::steady_clock::time_point at);
  // Adaptive pools: the system's limit from its available backends' limits.
  void apply_backend_limits(const BackendList& list, std::chrono::steady_clock::time_point now);
  // Walks the aperture of `list` (one rule for picks and checks), `width`
  // places wide (read once by the caller: the connection limit may move
  // meanwhile): `visit(index, backend)` says whether that backend fills a
  // place; the walk ends once the window is full (with `zoned`, full of
  // near backends and full of far ones: the locality rule needs both).
  template <class Visit>
  void walk_aperture(const BackendList& list, bool zoned, std::size_t width, Visit visit) const;

  const LiveOptions& live_;
  std::string name_;
  const Aperture aperture_;  // this router's place on the system's ring, at random
  const bool speaks_book_;
  // Swapped under a mutex, not std::atomic<std::shared_ptr>: libstdc++ 12's
  // load() unlocks with a relaxed store, a race ThreadSanitizer reports (and
  // the costs are the same: one locked instruction each way).
  mutable std::mutex backends_mutex_;
  std::shared_ptr<const BackendList> backends_;
  // Adaptive pools: twice the limit's recent peak, decaying by 1/64 (at
  // least 1) at each update of the limits: every window (half-life about
  // 4 s at the default 100 ms windows) and each new backend set.
  std::atomic<std::size_t> connection_peak_;
  // Adaptive pools: the aperture's width, and the calls in flight on
  // average over the last window (Little's law: latency summed over the
  // window's calls / its length), which sizes it.
  std::atomic<std::size_t> adaptive_width_;
  std::atomic<std::size_t> demand_{0};
  // Adaptive pools: a backend's limit is held at its capacity (AdaptiveLimit::at_capacity).
  std::atomic<bool> at_capacity_{false};
  std::atomic<Strategy> strategy_;
  std::atomic<bool> strategy_pinned_{false};  // set for this system alone
  std::atomic<std::uint64_t> ticket_{0};
  std::atomic<bool> weighted_{false};  // a backend has a weight other than the default (place())

  std::mutex ready_mutex_;
  bool ready_ = false;
  std::atomic<bool> ready_flag_{false};  // ready_, readable without the lock
  bool fetching_ = false;
  std::string fetch_error_;  // why the last fetch failed
  std::vector<std::shared_ptr<boost::asio::steady_timer>> ready_waiters_;
  std::mutex watch_mutex_;  // keep_watch and retire may race
  std::unique_ptr<discovery::WatchHandle> watch_;
  std::atomic<std::int64_t> last_used_ns_{0};
  // When discovery first listed no instance while backends were known (0: not held).
  std::atomic<std::int64_t> emptied_at_ns_{0};
  std::atomic<bool> retired_{false};
  mutable std::mutex publish_mutex_;  // one set published at a time (discovery's, or the sweep's held-back empty one)
  std::set<std::string> drained_;  // under publish_mutex_
  std::shared_ptr<SweepAgenda> agenda_;  // set before the system is shared

  std::mutex dns_mutex_;
  std::optional<boost::asio::any_io_executor> dns_loop_;                 // under dns_mutex_
  DnsRefresher::ResolveFunction resolve_;                                // under dns_mutex_
  std::map<std::string, std::shared_ptr<DnsRefresher>> refreshers_;      // by address, under dns_mutex_
  bool dns_stopped_ = false;                                             // under dns_mutex_
};

}  // namespace routing::core
