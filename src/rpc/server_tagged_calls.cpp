// ServerConnection's tagged calls (CONTRACT §8): started as they are read,
// answered as each finishes, given up on cancel, deadline or hang-up.
#include "rpc/server_connection.h"

#include "common/coarse_clock.h"
#include "common/log.h"
#include "common/trace_context.h"
#include "rpc/address.h"

#include <boost/asio/co_spawn.hpp>

namespace routing::rpc {
namespace {

using Clock = std::chrono::steady_clock;

// A deadline-ms far beyond any call's life (over ten years) means none.
Clock::time_point deadline_after(std::uint64_t ms) {
  constexpr std::uint64_t far = 10ULL * 366 * 24 * 3600 * 1000;
  if (ms >= far) return Clock::time_point::max();
  return Clock::now() + std::chrono::milliseconds(ms);
}

}  // namespace

void ServerConnection::dispatch_tagged() {
  if (refuse_tagged()) return;
  auto it = shared_.handlers.find(frame_.number);
  if (it == shared_.handlers.end()) {
    return queue_tagged_answer(Status::unimplemented, frame_.id, "unknown procedure " + std::to_string(frame_.number));
  }
  start_tagged_call(it->second);
}

// Answers the frame here when it starts no handler: a duplicate id, a ping
// (and the cancel it may carry), past the connection's limit of calls, or a
// deadline already over.
bool ServerConnection::refuse_tagged() {
  const std::uint64_t id = frame_.id;
  if (tagged_.in_flight(id)) {
    queue_tagged_answer(Status::invalid_argument, id, "duplicate call id");
    return true;
  }
  if (frame_.number == 0) {
    if (frame_.keys.cancel != 0) {
      if (auto slot = tagged_.find(frame_.keys.cancel)) give_up_tagged(*slot, Status::cancelled, "cancelled");
    } else {
      shared_.pings.fetch_add(1, std::memory_order_relaxed);
    }
    queue_tagged_answer(Status::ok, id, "pong");
    return true;
  }
  const std::size_t limit = shared_.options.max_calls_per_connection;
  if (tagged_.held() >= limit) {
    queue_tagged_answer(Status::resource_exhausted, id,
                        "too many calls in flight on this connection (limit " + std::to_string(limit) + ")");
    return true;
  }
  if (frame_.keys.deadline_ms == std::uint64_t{0}) {
    queue_tagged_answer(Status::deadline_exceeded, id, "deadline exceeded");
    return true;
  }
  return false;
}

void ServerConnection::start_tagged_call(const RegisteredHandler& handler) {
  const auto deadline = frame_.keys.deadline_ms ? deadline_after(*frame_.keys.deadline_ms) : Clock::time_point::max();
  const std::uint32_t slot = tagged_.open(frame_.id, deadline);
  TaggedCall& tagged = tagged_.at(slot);  // a deque element: it stays put
  tagged.call.traceparent.swap(frame_.keys.traceparent);
  tagged.call.request_id.swap(frame_.keys.request_id);
  tagged.call.procedure = frame_.number;
  begin_span(tagged.call);
  last_activity_ = common::coarse_now();
  Responder responder(shared_from_this(), slot);
  try {
    if (handler.callback) {
      tagged.call.payload_as_sent = frame_.raw_payload.empty() ? std::string_view(frame_.payload) : frame_.raw_payload;
      handler.callback(frame_.payload, tagged.call, std::move(responder));
    } else {
      run_coroutine_handler(handler.coroutine, tagged.call, std::move(responder));
    }
  } catch (const std::exception& e) {
    common::log().error("procedure {} threw: {}", frame_.number, e.what());  // its Responder answered 13
  }
  // Only a call still running needs its deadline watched.
  if (tagged.answerable && tagged.call.id == frame_.id && deadline != Clock::time_point::max()) {
    arm_deadline_timer(deadline);
  }
}

void ServerConnection::answer_tagged(std::uint32_t slot, Status status, std::string_view payload) {
  const bool answer = tagged_.take_answer(slot);
  const std::uint64_t id = tagged_.at(slot).call.id;
  if (answer) end_span(tagged_.at(slot).call, status);
  tagged_.release(slot);
  last_activity_ = common::coarse_now();
  if (answer && !closed_) queue_tagged_answer(status, id, payload);
  // Asked by a handler whose call was given up too (answered already): the
  // connection still ends.
  if (context_.close_after_answer) begin_shutdown();
  finish_if_done();
}

void ServerConnection::give_up_tagged(std::uint32_t slot, Status status, std::string_view message) {
  if (!tagged_.take_answer(slot)) return;
  CallContext& call = tagged_.at(slot).call;
  end_span(call, status);
  if (!closed_) queue_tagged_answer(status, call.id, message);
  call.abandoned = true;
  if (auto hook = std::move(call.on_abandoned)) {
    call.on_abandoned = nullptr;
    hook();  // may answer (ignored: answered here) and free the slot
  }
  finish_if_done();
}

// A traced call gets a server span of its own when the server logs spans;
// its handler passes the trace on as a child of that span.
void ServerConnection::begin_span(CallContext& call) {
  call.span_id.clear();
  call.child_traceparent.clear();
  if (!shared_.spans) {
    call.child_traceparent = call.traceparent;
    return;
  }
  // Tracing is on: a call without a valid trace context starts a trace
  // (CONTRACT §8; W3C Trace Context restarts an invalid one).
  call.span_id = common::new_span_id();
  auto parent = common::parse_traceparent(call.traceparent);
  call.child_traceparent = parent ? common::child_traceparent(*parent, call.span_id)
                                  : common::root_traceparent(common::new_trace_id(), call.span_id);
  call.span_start = std::chrono::system_clock::now();
  call.span_began = Clock::now();
}

void ServerConnection::end_span(CallContext& call, Status status) {
  if (call.span_id.empty()) return;
  auto own = common::parse_traceparent(call.child_traceparent);  // begin_span made it
  if (!own) return;
  auto parent = common::parse_traceparent(call.traceparent);  // none: this span is the trace's root
  const std::string name = "procedure " + std::to_string(call.procedure);
  const std::string peer = format_host_port(context_.peer);
  shared_.spans->record(common::Span{.trace_id = own->trace_id, .span_id = call.span_id,
                                     .parent_span_id = parent ? parent->parent_id : std::string_view(),
                                     .kind = "server", .name = name,
                                     .peer = peer, .start = call.span_start,
                                     .duration = Clock::now() - call.span_began,
                                     .status = static_cast<int>(status)});
  call.span_id.clear();
}

// One timer per connection, at the earliest deadline of its running calls:
// a call that ends in time costs no timer operation of its own.
void ServerConnection::arm_deadline_timer(Clock::time_point deadline) {
  if (deadline >= deadline_armed_ || closed_) return;
  deadline_armed_ = deadline;
  deadline_timer_.expires_at(deadline);
  deadline_timer_.async_wait([self = shared_from_this()](error_code ec) {
    if (ec == asio::error::operation_aborted) return;  // re-armed earlier, or closed
    self->expire_overdue_calls();
  });
}

void ServerConnection::expire_overdue_calls() {
  deadline_armed_ = Clock::time_point::max();
  for (std::uint32_t slot : tagged_.overdue(Clock::now())) {
    give_up_tagged(slot, Status::deadline_exceeded, "deadline exceeded");
  }
  if (auto next = tagged_.earliest_deadline(); next != Clock::time_point::max()) arm_deadline_timer(next);
}

}  // namespace routing::rpc
