// The call pipeline, stage by stage:
//   system lookup → first backend set (discovery) → permit (the seed's
//   semaphore: bounded queue, deadline) → pick a backend → idle connection
//   (checked) or connect → exchange → give the connection back → release.
// Each stage says why it sits where it does.
#include "routing/router_core.h"
#include "rpc/timed_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace routing::core {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;

namespace {

std::string millis(Clock::duration d) {
  return std::to_string(std::chrono::duration_cast<milliseconds>(d).count()) + " ms";
}

}  // namespace

// Not a coroutine itself: on a shard's thread the call is that shard's
// coroutine directly (one frame less per call).
asio::awaitable<CallOutcome> RouterCore::call(std::string system, std::uint32_t procedure, std::string payload,
                                        CallOptions options) {
  if (Shard* shard = current_shard()) {
    return run_call(*shard, std::move(system), procedure, std::move(payload), options);
  }
  // Not on one of our loops: hop to one (round-robin) and back.
  Shard& target = *shards_[next_shard_.fetch_add(1, std::memory_order_relaxed) % shards_.size()];
  return asio::co_spawn(target.executor, run_call(target, std::move(system), procedure, std::move(payload), options),
                        asio::use_awaitable);
}

namespace {

asio::awaitable<CallOutcome> ready_outcome(CallOutcome outcome) { co_return outcome; }

}  // namespace

std::optional<CallOutcome> RouterCore::refuse_call(std::string_view system_name) const {
  if (stopping_) return CallOutcome{Reply::error(Status::unavailable, "the router is stopping")};
  if (system_name.empty()) return CallOutcome{Reply::error(Status::invalid_argument, "empty system name")};
  return std::nullopt;
}

// Every outcome of a routed call passes here: the system's figures.
CallOutcome RouterCore::recorded(System& system, Clock::time_point start, CallOutcome outcome, Clock::time_point now) {
  system.calls.add(static_cast<int>(outcome.reply.status));
  system.latency.record(now - start);
  return outcome;
}

// Not a coroutine: the checks and the system lookup run at once, and the
// call is one coroutine frame (route) rather than two.
asio::awaitable<CallOutcome> RouterCore::run_call(Shard& shard, std::string system_name, std::uint32_t procedure,
                                            std::string payload, CallOptions options) {
  const auto start = Clock::now();
  const auto deadline = start + options.timeout.value_or(options_.request_timeout);
  if (auto refused = refuse_call(system_name)) return ready_outcome(std::move(*refused));
  auto system = find_or_create_cached(system_name);
  system->touch();
  return route(shard, std::move(system), procedure, std::move(payload), options, start, deadline, Permit{}, Tries{},
               nullptr);
}

asio::awaitable<CallOutcome> RouterCore::route(Shard& shard, std::shared_ptr<System> system_ref, std::uint32_t procedure,
                                         std::string payload, CallOptions options, Clock::time_point start,
                                         Clock::time_point deadline, Permit permit, Tries tries,
                                         std::shared_ptr<Backend> picked) {
  System& system = *system_ref;
  if (!permit) {
    // Discovery first: without a backend set there is nothing to wait for.
    if (!system.ready()) {
      if (auto failure = co_await system.ensure_ready(*discovery_, deadline)) {
        co_return recorded(system, start, CallOutcome{std::move(*failure)});
      }
    }
    if (system.backends()->backends.empty()) {
      co_return recorded(system, start,
                         CallOutcome{Reply::error(Status::not_found, "no instances of '" + system.name() + "'")});
    }

    // The permit bounds calls in flight per system; it is held across retries
    // so a retry never needs a second slot.
    auto waited = system.limiter.try_acquire(permit) ? ConcurrencyLimiter::Outcome::acquired
                                                     : co_await system.limiter.acquire(deadline, permit);
    switch (waited) {
      case ConcurrencyLimiter::Outcome::acquired: break;
      case ConcurrencyLimiter::Outcome::queue_full:
        co_return recorded(system, start,
                           CallOutcome{Reply::error(Status::resource_exhausted,
                                                    "too many calls waiting for '" + system.name() + "' (max pending " +
                                                        std::to_string(system.limiter.max_pending()) + ")")});
      case ConcurrencyLimiter::Outcome::timed_out:
        co_return recorded(system, start,
                           CallOutcome{Reply::error(Status::deadline_exceeded, "deadline exceeded waiting for a free "
                                                                               "slot of '" + system.name() + "'")});
    }
    system.budget.deposit(Clock::now());
  }

  // Each attempt: an idle connection (take() checks it is still open, and
  // skips the handshake) or a new one, then the exchange. Written inline
  // rather than as a coroutine of its own: one frame less per call.
  for (;;) {
    auto list = system.backends();
    auto backend = picked ? std::move(picked) : system.pick(*list, tries.excluded());
    if (!backend) co_return recorded(system, start, CallOutcome{tries.no_backend_left(system, *list)});
    const auto attempt_start = Clock::now();
    PooledConnection connection = shard.pool.take(*backend);
    Attempt result{AttemptKind::not_sent, {}};
    if (!connection) {
      if (auto fresh = co_await connect(shard, system, backend, deadline, result)) connection = std::move(*fresh);
    }
    if (connection) {
      backend->begin_call();
      auto answers_before = connection.connection().answers_received();
      Reply reply = co_await connection.connection().async_call(procedure, payload, deadline, asio::use_awaitable);
      result = finish_attempt(shard, system, *backend, connection, answers_before, std::move(reply), attempt_start,
                              Clock::now());
    }
    if (result.kind == AttemptKind::answered || result.kind == AttemptKind::deadline) {
      co_return recorded(system, start, CallOutcome{std::move(result.reply), result.kind == AttemptKind::answered});
    }
    if (!tries.try_another(system, *backend, result, options, deadline)) {
      co_return recorded(system, start, CallOutcome{std::move(result.reply)});
    }
  }
}

std::span<Backend* const> RouterCore::Tries::excluded() const {
  return std::span<Backend* const>(tried.data(), count);
}

Reply RouterCore::Tries::no_backend_left(const System& system, const BackendList& list) {
  if (last_failure) return std::move(*last_failure);
  return Reply::error(Status::unavailable, list.backends.empty() ? "no instances of '" + system.name() + "'"
                                                                 : "no healthy backend for '" + system.name() + "'");
}

// Resend only what was certainly not processed, or what the caller declared
// idempotent (once), within the deadline and the retry budget.
bool RouterCore::Tries::try_another(System& system, Backend& backend, Attempt& failed, const CallOptions& options,
                                    Clock::time_point deadline) {
  system.record_failure(backend);
  bool may_resend = failed.kind == AttemptKind::not_sent || (options.idempotent && !resent);
  if (!may_resend || Clock::now() >= deadline || count == tried.size()) return false;
  if (!system.budget.try_withdraw(Clock::now())) {
    system.retries_denied.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  system.retries.fetch_add(1, std::memory_order_relaxed);
  resent = resent || failed.kind == AttemptKind::failed_after_send;
  tried[count++] = &backend;
  last_failure = std::move(failed.reply);
  return true;
}

// After the exchange: the figures, and the connection back to the pool if it
// answered (one that saw any error is never reused).
RouterCore::Attempt RouterCore::finish_attempt(Shard& shard, System& system, Backend& backend,
                                               PooledConnection& connection, std::uint64_t answers_before,
                                               Reply reply, Clock::time_point start, Clock::time_point now) {
  backend.end_call(now - start, now);
  bool answered = connection.connection().answers_received() > answers_before;
  backend.calls.add(static_cast<int>(reply.status));
  if (answered) {
    system.record_success(backend);
    shard.pool.give_back(std::move(connection), now);
    return Attempt{AttemptKind::answered, std::move(reply)};
  }
  connection.close();
  if (reply.status == Status::deadline_exceeded) {
    return Attempt{AttemptKind::deadline,
                   Reply::error(Status::deadline_exceeded, "deadline exceeded calling " + backend.address)};
  }
  return Attempt{AttemptKind::failed_after_send,
                 Reply::error(Status::unavailable, "connection to " + backend.address + " failed: " + reply.payload)};
}

asio::awaitable<std::optional<PooledConnection>> RouterCore::connect(Shard& shard, System& system,
                                                                     std::shared_ptr<Backend> backend,
                                                                     Clock::time_point deadline, Attempt& failure) {
  reserve_connection_slot(shard, system);
  auto fresh = rpc::ClientConnection::create(shard.executor, options_.max_frame_bytes);
  auto limit = std::min<Clock::duration>(options_.connect_timeout, deadline - Clock::now());
  auto ec = backend->endpoint ? co_await rpc::connect_within(fresh, *backend->endpoint, limit)
                              : rpc::error_code(asio::error::host_not_found);
  if (!ec) co_return PooledConnection(std::move(fresh), std::move(backend));

  system.open_connections.fetch_sub(1, std::memory_order_relaxed);
  if (Clock::now() >= deadline) {
    failure = {AttemptKind::deadline, Reply::error(Status::deadline_exceeded,
                                                   "deadline exceeded connecting to " + backend->address)};
  } else {
    failure = {AttemptKind::not_sent, Reply::error(Status::unavailable, "connect to " + backend->address +
                                                                            " failed: " + ec.message() + " after " +
                                                                            millis(limit))};
  }
  co_return std::nullopt;
}

// Keeps the system's open connections within its limit (pool_size): a new connection
// takes a slot, closing an idle one (the oldest, of any backend) to make room.
// A call holding a permit always finds room: in-use connections never exceed
// permits, so when every slot is taken one is idle somewhere. If it idles on
// another worker, that worker is asked to close it; until it does (or, if it
// had none left, until the next connection given back there is closed instead
// of pooled) the system has more connections than its bound: the documented
// slack of running on several loops.
void RouterCore::reserve_connection_slot(Shard& shard, System& system) {
  auto open = system.open_connections.fetch_add(1, std::memory_order_relaxed);
  if (open < system.connection_limit()) return;
  if (shard.pool.evict_one(system) || evict_idle_blocking(system)) return;
  for (auto& other : shards_) {
    if (other.get() == &shard) continue;
    asio::post(other->executor, [other = other.get(), &system] { other->pool.evict_one(system); });
    return;
  }
}

}  // namespace routing::core
