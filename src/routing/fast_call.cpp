// The callback path of a routed call (call_then), for proxies: when the
// system is known, a slot is free and the picked backend has an idle
// connection, the call is a request on that connection and a callback on its
// answer; no coroutine frame, no trip through the event loop's queue. Every
// other case, and a retry after a failed attempt, continues as the coroutine
// of call_pipeline.cpp (route), handed what was done so far. Measured with
// callgrind in docs/performance.md.
#include "routing/router_core.h"

#include <boost/asio/co_spawn.hpp>

namespace routing::core {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// What a call on the callback path holds while its request is out. Reused
// from call to call on each thread (CallStates): a routed call then allocates
// neither its state nor, within the capacity an earlier call left, the copy
// of its payload.
struct RouterCore::FastCall {
  Shard* shard = nullptr;
  std::shared_ptr<System> system;
  std::shared_ptr<Backend> backend;
  Permit permit;
  PooledConnection connection;
  std::uint64_t answers_before = 0;
  std::uint32_t procedure = 0;
  std::string payload;  // kept for a retry on another backend
  CallOptions options;
  Clock::time_point start;
  Clock::time_point attempt_start;
  Clock::time_point deadline;
  CallCompletion done;

  // Lets go of everything but the payload's capacity.
  void clear() {
    system.reset();
    backend.reset();
    permit.release();
    connection = PooledConnection{};
    payload.clear();
    done = CallCompletion{};
  }
};

namespace {

// This thread's spare FastCalls. Bounded: a burst's worth is kept, the rest
// freed.
class CallStates {
 public:
  using Call = RouterCore::FastCall;
  std::unique_ptr<Call> take() {
    if (spare_.empty()) return std::make_unique<Call>();
    auto call = std::move(spare_.back());
    spare_.pop_back();
    return call;
  }
  void give_back(std::unique_ptr<Call> call) {
    call->clear();
    if (spare_.size() < max_spare) spare_.push_back(std::move(call));
  }

 private:
  static constexpr std::size_t max_spare = 1024;
  std::vector<std::unique_ptr<Call>> spare_;
};

thread_local CallStates call_states;

}  // namespace

void RouterCore::call_then(std::string_view system_name, std::uint32_t procedure, std::string_view payload,
                           CallOptions options, CallCompletion done, Clock::time_point start) {
  Shard* shard = current_shard();
  if (shard == nullptr) {
    Shard& target = *shards_[next_shard_.fetch_add(1, std::memory_order_relaxed) % shards_.size()];
    return spawn_route(target, run_call(target, std::string(system_name), procedure, std::string(payload), options),
                       std::move(done));
  }
  const auto deadline = start + options.timeout.value_or(options_.request_timeout);
  if (auto refused = refuse_call(system_name)) return done(*refused);
  auto system = find_or_create_cached(system_name);
  system->touch(start);
  Permit permit;
  std::shared_ptr<Backend> picked;
  if (start_fast_call(*shard, system, procedure, payload, options, start, deadline, done, permit, picked)) return;
  spawn_route(*shard,
              route(*shard, std::move(system), procedure, std::string(payload), options, start, deadline,
                    std::move(permit), Tries{}, std::move(picked)),
              std::move(done));
}

bool RouterCore::start_fast_call(Shard& shard, std::shared_ptr<System>& system, std::uint32_t procedure,
                                 std::string_view payload, const CallOptions& options, Clock::time_point start,
                                 Clock::time_point deadline, CallCompletion& done, Permit& permit,
                                 std::shared_ptr<Backend>& picked) {
  if (!system->ready()) return false;  // discovery first: the coroutine waits for it
  auto list = system->backends();
  if (list->backends.empty() || !system->limiter.try_acquire(permit)) return false;
  // The call's start stands for "now" until its answer: no clock reads here.
  system->budget.deposit(start);
  picked = system->pick(*list, {}, start);
  if (!picked) return false;  // the coroutine tells why
  const auto attempt_start = start;
  PooledConnection connection = shard.pool.take(*picked, start);
  if (!connection) return false;  // connecting is the coroutine's (with `picked` and the permit)

  auto call = call_states.take();
  call->shard = &shard;
  call->system = std::move(system);
  call->backend = std::move(picked);
  call->permit = std::move(permit);
  call->connection = std::move(connection);
  call->procedure = procedure;
  call->payload.assign(payload);
  call->options = options;
  call->start = start;
  call->attempt_start = attempt_start;
  call->deadline = deadline;
  call->done = std::move(done);
  call->backend->begin_call();
  auto& wire = call->connection.connection();
  call->answers_before = wire.answers_received();
  std::string_view request = call->payload;
  wire.call_then(procedure, request, deadline, [this, call = std::move(call)](Reply& reply) mutable {
    finish_fast_call(std::move(call), reply);
  });
  return true;
}

namespace {

// The permit and the call's state go before the answer does: answering may
// start the client's next call, which should find the slot free.
void finish(std::unique_ptr<RouterCore::FastCall> call, CallOutcome& outcome) {
  CallCompletion done = std::move(call->done);
  call_states.give_back(std::move(call));
  done(outcome);
}

}  // namespace

void RouterCore::finish_fast_call(std::unique_ptr<FastCall> call, Reply& reply) {
  System& system = *call->system;
  Backend& backend = *call->backend;
  const auto now = Clock::now();
  Attempt result = finish_attempt(*call->shard, system, backend, call->connection, call->answers_before,
                                  std::move(reply), call->attempt_start, now);
  if (result.kind == AttemptKind::answered || result.kind == AttemptKind::deadline) {
    auto outcome = recorded(system, call->start,
                            CallOutcome{std::move(result.reply), result.kind == AttemptKind::answered}, now);
    finish(std::move(call), outcome);
    // The buffer goes back to the connection, which decodes its next answer
    // into it (no allocation per answer).
    reply.payload = std::move(outcome.reply.payload);
    return;
  }
  Tries tries;
  if (!tries.try_another(system, backend, result, call->options, call->deadline)) {
    auto outcome = recorded(system, call->start, CallOutcome{std::move(result.reply)});
    return finish(std::move(call), outcome);
  }
  // Another backend may be tried: the coroutine goes on from here.
  Shard& shard = *call->shard;
  auto retry = route(shard, std::move(call->system), call->procedure, std::move(call->payload), call->options,
                     call->start, call->deadline, std::move(call->permit), std::move(tries), nullptr);
  CallCompletion done = std::move(call->done);
  call_states.give_back(std::move(call));
  spawn_route(shard, std::move(retry), std::move(done));
}

void RouterCore::spawn_route(Shard& shard, asio::awaitable<CallOutcome> route, CallCompletion done) {
  asio::co_spawn(shard.executor, std::move(route),
                 [done = std::move(done)](std::exception_ptr error, CallOutcome outcome) mutable {
                   if (error) outcome = CallOutcome{Reply::error(Status::internal, "internal error routing the call")};
                   done(outcome);
                 });
}

}  // namespace routing::core
