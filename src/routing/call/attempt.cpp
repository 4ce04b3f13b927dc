#include "routing/call/attempt.h"

#include <algorithm>

#include "routing/system.h"

namespace routing::core {
using Clock = std::chrono::steady_clock;

Reply exchange_failure(const Backend& backend, AttemptEnd end, const Reply& failure) {
  if (end == AttemptEnd::deadline) {
    return Reply::error(Status::deadline_exceeded, "deadline exceeded calling " + backend.address);
  }
  return Reply::error(Status::unavailable, "connection to " + backend.address + " failed: " + failure.payload);
}

Attempt connect_failed(Backend& backend, std::string_view error, Clock::duration limit, bool deadline_passed,
                       bool timed_out) {
  backend.connect_failures.fetch_add(1, std::memory_order_relaxed);
  if (timed_out) backend.connect_timeouts.fetch_add(1, std::memory_order_relaxed);
  if (deadline_passed) {
    return Attempt{AttemptEnd::deadline,
                   Reply::error(Status::deadline_exceeded, "deadline exceeded connecting to " + backend.address)};
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(limit).count();
  return Attempt{AttemptEnd::not_sent,
                 Reply::error(Status::unavailable, "connect to " + backend.address + " failed: " + std::string(error) +
                                                       " after " + std::to_string(ms) + " ms")};
}

Reply Tries::no_backend_left(const System& system, const BackendList& list) {
  if (last_failure) return std::move(*last_failure);
  if (list.backends.empty()) return Reply::error(Status::unavailable, "no instances of '" + system.name() + "'");
  const bool all_drained = std::all_of(list.backends.begin(), list.backends.end(),
                                       [](const auto& b) { return b->drained.load(std::memory_order_relaxed); });
  return Reply::error(Status::unavailable, all_drained ? "every backend of '" + system.name() + "' is drained"
                                                       : "no healthy backend for '" + system.name() + "'");
}

bool Tries::try_another(System& system, Backend& backend, Attempt& failed, const CallOptions& options,
                        Clock::time_point deadline) {
  system.record_failure(backend);
  bool may_resend = failed.end == AttemptEnd::not_sent || (options.idempotent && !resent);
  if (!may_resend || Clock::now() >= deadline || count == tried.size()) return false;
  if (!system.budget.try_withdraw(Clock::now())) {
    system.retries_denied.fetch_add(1, std::memory_order_relaxed);
    return false;
  }
  system.retries.fetch_add(1, std::memory_order_relaxed);
  resent = resent || failed.end == AttemptEnd::failed_after_send;
  tried[count++] = &backend;
  last_failure = std::move(failed.reply);
  return true;
}

}  // namespace routing::core
