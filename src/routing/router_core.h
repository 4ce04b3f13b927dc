#pragma once
// The engine behind routing::Router (library mode) and routerd (proxy mode),
// running on the worker loops it is given. It wires the pieces together:
//   SystemRegistry (system_registry.h)  systems by name, discovery watches
//   PoolSet (pool_set.h)                connections: one pool per worker, one blocking
//   HealthChecker (health_checker.h)    active checks, on worker 0
//   limits loop (limits_loop.cpp)       adaptive pools, on worker 0
//   the call flow (call/call_flow.h)    one attempt loop for every call, driven by
//     call/loop_calls.cpp (callbacks on a worker) or call/blocking_calls.cpp
//     (the caller's thread; blocking calls that overlap go to a worker)
// Limits are per system, shared by all workers.
#include "common/inplace_function.h"
#include "common/span_log.h"
#include "discovery/discovery.h"
#include "routing/call/call.h"
#include "routing/health_checker.h"
#include "routing/live_options.h"
#include "routing/pool_set.h"
#include "routing/system_registry.h"

#include <routing/router.h>
#include <routing/stats.h>

#include <boost/asio/steady_timer.hpp>

#include <thread>

namespace routing::core {

// Receives a call's outcome (call_then). Holds up to 96 bytes of captures
// without allocating. The outcome is lent: a completion that keeps any of it
// moves it out (the callback path hands the answer's buffer back to its
// connection afterwards, to decode the next answer into).
using CallCompletion = common::InplaceFunction<void(CallOutcome&), 96>;

enum class Step;
template <class Pools>
class CallFlow;
struct BlockingPools;

class RouterCore {
 public:
  // Throws std::invalid_argument for bad options. Worker 0 also runs
  // discovery, the health checks and the limits loop.
  RouterCore(RouterOptions options, std::vector<boost::asio::any_io_executor> workers);
  // Throws std::invalid_argument saying what is wrong with `options`.
  static void validate(const RouterOptions& options);
  ~RouterCore();

  // Learns which thread runs each worker loop (they must be running) and
  // starts the sweepers. Call once before the first call.
  void start();
  // Stops watches, health checks and sweepers and closes idle connections,
  // without waiting: callable from a worker's own thread. Afterwards the
  // loops hold no work of the router.
  void request_stop();
  // request_stop(), then waits until every worker has done it. Calls must
  // have finished; not from a worker thread.
  void stop();

  // Routes one call and hands its outcome to `done`. On a worker's thread the
  // call runs there as callbacks and `done` runs on that thread (possibly
  // before call_then returns, for calls refused at once); from elsewhere it
  // is posted to a worker (round-robin) and `done` runs there. `arrival`:
  // when the call arrived, which its deadline and latency count from.
  // `payload` is copied (into storage reused from call to call).
  // `cancel_hook` (on a worker's thread only, else nullptr): the call sets it
  // while it runs; calling it gives the call up (it ends with status 1,
  // without another attempt) and clears it. routerd passes the client
  // call's CallContext::on_abandoned.
  void call_then(std::string_view system, std::uint32_t procedure, std::string_view payload, CallOptions options,
                 CallCompletion done, std::chrono::steady_clock::time_point arrival,
                 std::function<void()>* cancel_hook = nullptr);
  // The same as a coroutine; resumes on the awaiting coroutine's executor.
  boost::asio::awaitable<CallOutcome> call(std::string system, std::uint32_t procedure, std::string payload,
                                           CallOptions options);
  // The same for a blocking caller: on the calling thread (blocking sockets)
  // while the system's calls come one at a time; through a worker, the
  // caller asleep, once they overlap (they batch there; blocking_calls.cpp
  // has the rule), with TLS to backends (blocking connections speak no TLS)
  // and for book systems. A system's first discovery runs on a worker.
  // Not from a worker thread.
  CallOutcome call_blocking(std::string_view system, std::uint32_t procedure, std::string_view payload,
                            const CallOptions& options);

  // How host names of backends are looked up (default: Asio's async_resolve,
  // off the loops). Tests inject slow or failing lookups; set it before the
  // first call.
  void set_resolve_function(DnsRefresher::ResolveFunction resolve) { resolve_ = std::move(resolve); }

  bool set_strategy(std::string_view strategy, std::optional<std::string> system);
  // DRAIN/UNDRAIN (System::set_drained); a system not called yet is made
  // (nullopt: max_systems exist already).
  std::optional<System::DrainResult> set_drained(std::string_view system, std::string_view address, bool drained) {
    return systems_.set_drained(system, address, drained);
  }
  // Puts new settings in force while calls run (routerd's SIGHUP; in
  // reconfigure.cpp): calls, checks and pools read them from their next
  // step. Those a running router cannot change (discovery, adaptive or fixed
  // pools, threads, frame size, DNS and unknown-name bookkeeping) keep their
  // values. A changed strategy applies to every system, as SET_STRATEGY
  // without a name does. Throws std::invalid_argument, changing nothing.
  // The backends' TLS files are read again each time (certificate rotation
  // under the same names): new connections use them, pooled ones keep theirs.
  void reconfigure(RouterOptions wanted);
  // When the client certificate discovery (rpcs://, etcds://) presents
  // expires: the one of the start, as discovery keeps it (none: nullopt).
  std::optional<std::chrono::system_clock::time_point> discovery_certificate_expiry() const;
  // When the client certificate presented to backends expires (none: nullopt).
  std::optional<std::chrono::system_clock::time_point> backend_certificate_expiry() const;
  RouterStats stats() const;
  // Log rotation: opens RouterOptions::trace_log again by its name; an
  // error message (the old file stays in use), or nullopt.
  std::optional<std::string> reopen_trace_log() { return spans_ ? spans_->reopen() : std::nullopt; }
  // The settings in force (reconfigure replaces them).
  const RouterOptions& options() const { return options_.get(); }
  std::size_t worker_count() const { return workers_.size(); }
  // True on a thread that runs one of the workers.
  bool on_worker_thread() const { return current_worker() != nullptr; }

  // A call on a worker loop (call/loop_calls.cpp).
  struct LoopCall;

 private:
  struct Worker {
    std::size_t index = 0;
    boost::asio::any_io_executor executor;
    std::thread::id thread;
    std::unique_ptr<boost::asio::steady_timer> sweeper;
  };
  Worker* current_worker() const;
  Worker& next_worker();
  // The system a call goes to; nullptr, with `refused` set, when the call
  // cannot be routed at all: the router stopping, no system name, a name
  // discovery did not know a moment ago, or max_systems reached.
  std::shared_ptr<System> system_for_call(std::string_view name, CallOutcome& refused);
  // A system's first backend set (both adapters wait for it this way).
  boost::asio::awaitable<std::optional<Reply>> learn_first_set(std::shared_ptr<System> system,
                                                               std::chrono::steady_clock::time_point deadline);
  boost::asio::awaitable<void> fetch_first_set(std::shared_ptr<System> system);

  // The loop adapter (call/loop_calls.cpp).
  void run_loop_call(Worker& worker, std::string_view system, std::uint32_t procedure, std::string_view payload,
                     const CallOptions& options, CallCompletion& done, std::chrono::steady_clock::time_point arrival,
                     std::function<void()>* cancel_hook);
  // The same for a system already found (a blocking call handed over).
  void run_loop_call(Worker& worker, std::shared_ptr<System> system, std::uint32_t procedure,
                     std::string_view payload, const CallOptions& options, CallCompletion& done,
                     std::chrono::steady_clock::time_point arrival, std::function<void()>* cancel_hook);
  void give_up(LoopCall& call);
  void advance(std::unique_ptr<LoopCall> call, Step step);
  void on_answer(std::unique_ptr<LoopCall> call, Reply& reply, bool answered);
  boost::asio::awaitable<void> learn_backends(std::unique_ptr<LoopCall> call);
  boost::asio::awaitable<void> connect(std::unique_ptr<LoopCall> call);
  boost::asio::awaitable<void> book_exchange(std::unique_ptr<LoopCall> call);
  void end_client_span(const LoopCall& call);
  static boost::asio::awaitable<bool> probe_tagged(rpc::ClientConnection& connection,
                                                   std::chrono::steady_clock::time_point until, std::string& error);
  // call_blocking through a worker's loop, the caller asleep until it ends.
  CallOutcome call_on_a_worker(std::shared_ptr<System> system, std::uint32_t procedure, std::string_view payload,
                               const CallOptions& options, std::chrono::steady_clock::time_point arrival);
  Step wait_for_permit_here(Call<rpc::BlockingConnection>& call, CallFlow<BlockingPools>& flow);
  Step receive_handed_answer(Call<rpc::BlockingConnection>& call, CallFlow<BlockingPools>& flow);
  // The blocking adapter's one wait on a loop (call/blocking_calls.cpp).
  std::optional<Reply> learn_backends_on_a_worker(const std::shared_ptr<System>& system,
                                                  std::chrono::steady_clock::time_point deadline);

  boost::asio::awaitable<void> sweep_loop(Worker& worker);
  // Adaptive pools: every adaptive_interval, each system's limits follow
  // the window just measured (on worker 0).
  boost::asio::awaitable<void> limits_loop();

  LiveOptions options_;
  std::mutex reconfigure_mutex_;  // one reconfigure at a time
  std::vector<std::unique_ptr<Worker>> workers_;
  std::unique_ptr<discovery::Discovery> discovery_;
  PoolSet pools_;
  std::shared_ptr<const rpc::tls::Context> discovery_tls_;  // rpcs:// or etcds:// only
  BackendTls backend_tls_;  // before health_: both connect through it
  HealthChecker health_;
  std::unique_ptr<common::SpanLog> spans_;  // RouterOptions::trace_log; null: none
  SystemRegistry systems_;
  std::atomic<std::size_t> next_worker_{0};
  std::atomic<bool> stopping_{false};
  std::unique_ptr<boost::asio::steady_timer> limits_timer_;  // adaptive pools only
  DnsRefresher::ResolveFunction resolve_ = DnsRefresher::asio_resolve();
};

}  // namespace routing::core
