#pragma once
// The engine behind routing::Router (library mode) and routerd (proxy mode):
// systems, discovery, health checks and the call pipeline, running on a set
// of worker event loops it is given ("shards"). Each shard keeps its own
// idle connections, so a call never leaves the loop it runs on; limits are
// per system, shared by all shards.
#include "common/inplace_function.h"
#include "discovery/discovery.h"
#include "routing/connection_pool.h"
#include "routing/system.h"

#include <routing/router.h>
#include <routing/stats.h>

#include <boost/asio/steady_timer.hpp>

#include <thread>
#include <unordered_map>

namespace routing::core {

// A call's reply, and whether the backend gave it (else the router did,
// with a message: proxies wrap the two differently).
struct CallOutcome {
  Reply reply;
  bool from_backend = false;
};

// Receives a call's outcome (call_then). Holds up to 96 bytes of captures
// without allocating. The outcome is lent: a completion that keeps any of it
// moves it out (the callback path hands the answer's buffer back to its
// connection afterwards, to decode the next answer into).
using CallCompletion = common::InplaceFunction<void(CallOutcome&), 96>;

class RouterCore {
 public:
  // Throws std::invalid_argument for bad options. Shard 0 also runs
  // discovery and the health checks.
  RouterCore(RouterOptions options, std::vector<boost::asio::any_io_executor> shards);
  // Throws std::invalid_argument saying what is wrong with `options`.
  static void validate(const RouterOptions& options);
  ~RouterCore();

  // Learns which thread runs each shard (they must be running) and starts
  // the sweepers. Call once before the first call.
  void start();
  // Stops watches, health checks and sweepers and closes idle connections,
  // without waiting: callable from a shard's own thread. Afterwards the
  // shards' loops hold no work of the router.
  void request_stop();
  // request_stop(), then waits until every shard has done it. Calls must have
  // finished; not from a shard thread.
  void stop();

  // Routes one call; awaitable from any executor. Runs inline when awaited on
  // a shard's own loop, else hops to a shard and back.
  boost::asio::awaitable<CallOutcome> call(std::string system, std::uint32_t procedure, std::string payload,
                                           CallOptions options);

  // Routes one call and hands its outcome to `done`, for proxies: on a
  // shard's thread, `done` runs on that thread (possibly before call_then
  // returns, for calls refused at once). The usual call (the system known, a
  // free slot, an idle connection) runs as plain callbacks, without a
  // coroutine; any other goes the way of call(). Off the shards, the call
  // runs on one (and `done` there). `start`: when the call arrived, which
  // its deadline and latency count from (the caller has read the clock).
  // `payload` is copied (into storage reused from call to call).
  void call_then(std::string_view system, std::uint32_t procedure, std::string_view payload, CallOptions options,
                 CallCompletion done, std::chrono::steady_clock::time_point start);

  // Library mode's blocking call, made on the caller's own thread with
  // blocking sockets from a pool of their own (no hop to an event loop and
  // back). nullopt when it cannot go that way without waiting: a system's
  // first call (discovery runs on the loops) or no free slot (waiting calls
  // queue, in order, on the loops); then use call().
  std::optional<CallOutcome> try_call_blocking(std::string_view system, std::uint32_t procedure,
                                               std::string_view payload, const CallOptions& options);
  // Learns a system's first backend set (on a loop); its failure, if any.
  // Blocking callers wait for this, then call on their own thread.
  boost::asio::awaitable<std::optional<Reply>> learn_backends(std::string system,
                                                              std::chrono::steady_clock::time_point deadline);
  bool knows_backends_of(std::string_view system);

  bool set_strategy(std::string_view strategy, std::optional<std::string> system);
  RouterStats stats() const;
  const RouterOptions& options() const { return options_; }
  std::size_t shard_count() const { return shards_.size(); }
  // True on a thread that runs one of the shards.
  bool on_shard_thread() const;

  // A call's state on the callback path (fast_call.cpp).
  struct FastCall;

 private:
  struct Shard {
    boost::asio::any_io_executor executor;
    std::thread::id thread;
    ConnectionPool pool;
    std::unique_ptr<boost::asio::steady_timer> sweeper;
  };
  enum class AttemptKind { answered, not_sent, failed_after_send, deadline };
  struct Attempt {
    AttemptKind kind;
    Reply reply;
  };
  // The backends one call has tried, and whether it may try another.
  struct Tries {
    std::array<Backend*, 8> tried{};
    std::size_t count = 0;
    bool resent = false;
    std::optional<Reply> last_failure;

    std::span<Backend* const> excluded() const;
    // The answer when no backend is left to try.
    Reply no_backend_left(const System& system, const BackendList& list);
    // Records the failure; true when another backend may be tried.
    bool try_another(System& system, Backend& backend, Attempt& failed, const CallOptions& options,
                     std::chrono::steady_clock::time_point deadline);
  };

  // `now`: when the outcome came (a caller that has read the clock passes it).
  static CallOutcome recorded(System& system, std::chrono::steady_clock::time_point start, CallOutcome outcome,
                              std::chrono::steady_clock::time_point now = std::chrono::steady_clock::now());
  Shard* current_shard() const;
  // What every routed call is checked for first: the answer if it cannot be
  // routed at all (the router stopping, no system name), else nothing.
  std::optional<CallOutcome> refuse_call(std::string_view system) const;
  std::shared_ptr<System> find_or_create(const std::string& name);
  // find_or_create through a small per-thread cache (blocking callers: no
  // lock and no hash per call).
  std::shared_ptr<System> find_or_create_cached(std::string_view name);
  boost::asio::awaitable<CallOutcome> run_call(Shard& shard, std::string system, std::uint32_t procedure,
                                               std::string payload, CallOptions options);
  // The call's one coroutine: owns what it needs (the system, the payload).
  // A call the callback path began comes with its permit, the backends it
  // tried, or the backend it picked but had no idle connection to.
  boost::asio::awaitable<CallOutcome> route(Shard& shard, std::shared_ptr<System> system, std::uint32_t procedure,
                                      std::string payload, CallOptions options,
                                      std::chrono::steady_clock::time_point start,
                                      std::chrono::steady_clock::time_point deadline, Permit permit,
                                      Tries tries, std::shared_ptr<Backend> picked);
  // call_then's callback path; false (having changed nothing but `picked`
  // and `permit`) when the call needs the coroutine.
  bool start_fast_call(Shard& shard, std::shared_ptr<System>& system, std::uint32_t procedure, std::string_view payload,
                       const CallOptions& options, std::chrono::steady_clock::time_point start,
                       std::chrono::steady_clock::time_point deadline, CallCompletion& done, Permit& permit,
                       std::shared_ptr<Backend>& picked);
  // `reply` is the connection's: its payload buffer is given back.
  void finish_fast_call(std::unique_ptr<FastCall> call, Reply& reply);
  // Runs route() on `shard` and hands its outcome to `done`.
  void spawn_route(Shard& shard, boost::asio::awaitable<CallOutcome> route, CallCompletion done);
  // `start`: when the attempt began; `now`: when its answer (or failure) came.
  Attempt finish_attempt(Shard& shard, System& system, Backend& backend, PooledConnection& connection,
                         std::uint64_t answers_before, Reply reply, std::chrono::steady_clock::time_point start,
                         std::chrono::steady_clock::time_point now);
  boost::asio::awaitable<std::optional<PooledConnection>> connect(Shard& shard, System& system,
                                                                  std::shared_ptr<Backend> backend,
                                                                  std::chrono::steady_clock::time_point deadline,
                                                                  Attempt& failure);
  void reserve_connection_slot(Shard& shard, System& system);
  bool evict_idle_blocking(const System& system);
  CallOutcome route_blocking(System& system, std::uint32_t procedure, std::string_view payload,
                             const CallOptions& options, std::chrono::steady_clock::time_point deadline);
  Attempt attempt_blocking(System& system, std::shared_ptr<Backend> backend, std::uint32_t procedure,
                           std::string_view payload, std::chrono::steady_clock::time_point deadline);
  std::optional<PooledBlockingConnection> connect_blocking(System& system, std::shared_ptr<Backend> backend,
                                                           std::chrono::steady_clock::time_point deadline,
                                                           Attempt& failure);
  boost::asio::awaitable<void> sweep_loop(Shard& shard);
  // Adaptive pools: every adaptive_interval, each system's limits follow
  // the window just measured (on shard 0).
  boost::asio::awaitable<void> limits_loop();
  // Applies empty sets whose grace has passed; forgets systems with no
  // instances and no calls (RouterOptions::unused_system_retention).
  void sweep_systems();
  boost::asio::awaitable<void> health_loop(std::shared_ptr<System> system,
                                          std::shared_ptr<boost::asio::steady_timer> timer);
  boost::asio::awaitable<void> check_backend(System& system, std::shared_ptr<Backend> backend);

  const std::uint64_t id_;  // tells this core's entries in per-thread caches from another's
  RouterOptions options_;
  Strategy default_strategy_;
  std::vector<std::unique_ptr<Shard>> shards_;
  std::unique_ptr<discovery::Discovery> discovery_;
  mutable std::mutex systems_mutex_;
  std::unordered_map<std::string, std::shared_ptr<System>> systems_;
  std::atomic<std::size_t> next_shard_{0};
  std::atomic<bool> stopping_{false};
  std::vector<std::shared_ptr<boost::asio::steady_timer>> health_timers_;  // under systems_mutex_
  std::unique_ptr<boost::asio::steady_timer> limits_timer_;  // adaptive pools only
  std::mutex blocking_mutex_;
  BlockingConnectionPool blocking_pool_;  // under blocking_mutex_
};

}  // namespace routing::core
