// The call pipeline of blocking library calls (Router::call), run on the
// caller's own thread: the same stages as call_pipeline.cpp (permit, pick,
// idle connection or connect, exchange, give back, retry), with blocking
// sockets instead of an event loop, so a call costs about what a direct call
// costs. What would have to wait (a system's first discovery, a free slot) is
// left to the event-loop pipeline, which queues.
#include "routing/router_core.h"

#include <boost/asio/post.hpp>

namespace routing::core {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

std::optional<CallOutcome> RouterCore::try_call_blocking(std::string_view system_name, std::uint32_t procedure,
                                                         std::string_view payload, const CallOptions& options) {
  const auto start = Clock::now();
  const auto deadline = start + options.timeout.value_or(options_.request_timeout);
  if (stopping_) return CallOutcome{Reply::error(Status::unavailable, "the router is stopping")};
  if (system_name.empty()) return CallOutcome{Reply::error(Status::invalid_argument, "empty system name")};
  auto system = find_or_create_cached(system_name);
  if (!system->ready()) return std::nullopt;
  Permit permit;
  if (!system->limiter.try_acquire(permit)) return std::nullopt;
  system->touch();
  CallOutcome outcome = route_blocking(*system, procedure, payload, options, deadline);
  permit.release();
  system->calls.add(static_cast<int>(outcome.reply.status));
  system->latency.record(Clock::now() - start);
  return outcome;
}

asio::awaitable<std::optional<Reply>> RouterCore::learn_backends(std::string system_name,
                                                                 Clock::time_point deadline) {
  auto system = find_or_create(system_name);
  if (system->ready()) co_return std::nullopt;
  co_return co_await system->ensure_ready(*discovery_, deadline);
}

bool RouterCore::knows_backends_of(std::string_view system_name) {
  return find_or_create_cached(system_name)->ready();
}

CallOutcome RouterCore::route_blocking(System& system, std::uint32_t procedure, std::string_view payload,
                                       const CallOptions& options, Clock::time_point deadline) {
  auto list = system.backends();
  if (list->backends.empty()) {
    return CallOutcome{Reply::error(Status::not_found, "no instances of '" + system.name() + "'")};
  }
  system.budget.deposit(Clock::now());
  Tries tries;
  for (;; list = system.backends()) {
    auto backend = system.pick(*list, tries.excluded());
    if (!backend) return CallOutcome{tries.no_backend_left(system, *list)};
    Attempt result = attempt_blocking(system, backend, procedure, payload, deadline);
    if (result.kind == AttemptKind::answered || result.kind == AttemptKind::deadline) {
      return CallOutcome{std::move(result.reply), result.kind == AttemptKind::answered};
    }
    if (!tries.try_another(system, *backend, result, options, deadline)) return CallOutcome{std::move(result.reply)};
  }
}

RouterCore::Attempt RouterCore::attempt_blocking(System& system, std::shared_ptr<Backend> backend,
                                                 std::uint32_t procedure, std::string_view payload,
                                                 Clock::time_point deadline) {
  const auto start = Clock::now();
  PooledBlockingConnection connection;
  {
    std::lock_guard lock(blocking_mutex_);
    connection = blocking_pool_.take(*backend);
  }
  if (!connection) {
    Attempt failure{AttemptKind::not_sent, {}};
    auto fresh = connect_blocking(system, backend, deadline, failure);
    if (!fresh) return failure;
    connection = std::move(*fresh);
  }

  backend->begin_call();
  Reply reply;
  auto outcome = connection.connection().exchange(procedure, payload, deadline, reply);
  const auto now = Clock::now();
  backend->end_call(now - start, now);
  backend->calls.add(static_cast<int>(reply.status));

  using Outcome = rpc::BlockingConnection::Outcome;
  switch (outcome) {
    case Outcome::answered: {
      system.record_success(*backend);
      std::lock_guard lock(blocking_mutex_);
      blocking_pool_.give_back(std::move(connection), now);
      return Attempt{AttemptKind::answered, std::move(reply)};
    }
    case Outcome::deadline:
      return Attempt{AttemptKind::deadline,
                     Reply::error(Status::deadline_exceeded, "deadline exceeded calling " + backend->address)};
    case Outcome::not_sent:
      return Attempt{AttemptKind::not_sent, Reply::error(Status::unavailable, "connection to " + backend->address +
                                                                                  " failed: " + reply.payload)};
    case Outcome::failed_after_send:
      break;
  }
  return Attempt{AttemptKind::failed_after_send,
                 Reply::error(Status::unavailable, "connection to " + backend->address + " failed: " + reply.payload)};
}

std::optional<PooledBlockingConnection> RouterCore::connect_blocking(System& system, std::shared_ptr<Backend> backend,
                                                                     Clock::time_point deadline, Attempt& failure) {
  // Within pool_size, as on the loops: make room by closing an idle one.
  auto open = system.open_connections.fetch_add(1, std::memory_order_relaxed);
  if (open >= system.connection_limit() && !evict_idle_blocking(system)) {
    asio::post(shards_[0]->executor, [shard = shards_[0].get(), &system] { shard->pool.evict_one(system); });
  }
  auto limit = std::min<Clock::duration>(options_.connect_timeout, deadline - Clock::now());
  std::string error = "host not found";
  std::shared_ptr<rpc::BlockingConnection> fresh;
  if (backend->endpoint && limit > Clock::duration::zero()) {
    fresh = rpc::BlockingConnection::connect(*backend->endpoint, limit, options_.max_frame_bytes, error);
  }
  if (fresh) return PooledBlockingConnection(std::move(fresh), std::move(backend));

  system.open_connections.fetch_sub(1, std::memory_order_relaxed);
  if (Clock::now() >= deadline) {
    failure = {AttemptKind::deadline,
               Reply::error(Status::deadline_exceeded, "deadline exceeded connecting to " + backend->address)};
  } else {
    auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(limit).count();
    failure = {AttemptKind::not_sent, Reply::error(Status::unavailable, "connect to " + backend->address + " failed: " +
                                                                            error + " after " + std::to_string(ms) +
                                                                            " ms")};
  }
  return std::nullopt;
}

bool RouterCore::evict_idle_blocking(const System& system) {
  std::lock_guard lock(blocking_mutex_);
  return blocking_pool_.evict_one(system);
}

}  // namespace routing::core
