#pragma once
// A routed call as one value: what the caller asked, when it arrived, its
// deadline, its permit, the backends it tried and its current attempt. Every
// entry path (routerd, Router::async_call, Router::call) fills one and hands
// it to the one attempt loop (call_flow.h); only the connection type differs
// (event-loop or blocking sockets).
#include "routing/call/attempt.h"
#include "routing/connection_pool.h"
#include "routing/limiter.h"
#include "routing/system.h"

#include <routing/router.h>

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

namespace routing::core {

// A call's reply, and whether the backend gave it (else the router did,
// with a message: proxies wrap the two differently).
struct CallOutcome {
  CallOutcome() = default;
  CallOutcome(Reply r, bool by_backend = false) : reply(std::move(r)), from_backend(by_backend) {}

  Reply reply;
  bool from_backend = false;
  // The backend of the last attempt (null if none was tried) and how many
  // attempts the call made: for the access log.
  std::shared_ptr<const Backend> backend;
  unsigned attempts = 0;
};

// When a call must have ended: its arrival (when the router first saw it:
// routerd's read of the frame, the library's entry) plus its own timeout or
// the router's request_timeout. Waiting for discovery, for a slot,
// connecting and the exchange all count against it.
// A caller's own timeout is capped at RouterOptions::max_request_timeout:
// no client can make the router hold a slot longer than that.
inline std::chrono::steady_clock::time_point call_deadline(std::chrono::steady_clock::time_point arrival,
                                                           const CallOptions& call, const RouterOptions& router) {
  return arrival + std::min(call.timeout.value_or(router.request_timeout), router.max_request_timeout);
}

// The trace context and request id a call passes on (CONTRACT §8): kept in
// the call (the caller's strings may be gone before it ends), the trace as
// a child of a new span of the router's; one that is not valid is not
// passed on. call_trace.cpp.
struct KeptKeys {
  std::string copy;         // the options' traceparent and request_id view it
  std::string span_parent;  // the caller's parent span id (empty: the router started the trace)
  bool traced = false;      // the call carries the router's span

  // Makes `options` view the copies, with the router's span in the trace;
  // `start_trace` (the router logs spans): a call without a valid trace
  // context starts one.
  void keep(CallOptions& options, bool start_trace);
  void clear() {
    copy.clear();
    span_parent.clear();
    traced = false;
  }
};

template <class Connection>
struct Call {
  using Clock = std::chrono::steady_clock;

  std::shared_ptr<System> system;
  std::uint32_t procedure = 0;
  std::string_view payload;  // the caller's bytes, or a copy the entry path keeps
  CallOptions options;
  KeptKeys keys;
  Clock::time_point arrival;
  Clock::time_point deadline;
  Permit permit;  // held across retries: a retry never needs a second slot
  Clock::time_point queued_at;     // when it began waiting for the permit (if it waited)
  std::size_t queued_behind = 0;   // how many waited ahead of it then
  Clock::time_point permitted_at;  // when it got the permit: its hold teaches QueueAdmission
  Tries tries;
  // The backend set the next attempt picks from, when already loaded (the
  // first attempt reuses the one checked for emptiness: one load per call).
  std::shared_ptr<const BackendList> list;
  // The current attempt.
  std::shared_ptr<Backend> backend;
  BasicPooledConnection<Connection> connection;
  Clock::time_point attempt_start;
  // The caller gave up (routerd: its client hung up). The step waited for
  // is cut short where it can be (call/loop_calls.cpp), and the flow
  // finishes the call when that step ends, without resending.
  bool cancelled = false;
  // Set when the loop says finished.
  CallOutcome outcome;
};

}  // namespace routing::core
