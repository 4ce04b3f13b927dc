#include "proxy/routerd_service.h"

#include "book/normalization.h"
#include "common/json_args.h"
#include "proxy/book_requests.h"
#include "common/trace_context.h"
#include "proxy/reported_systems.h"
#include "proxy/route_args.h"
#include "rpc/address.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace routing::proxy {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

RouterdService::RouterdService(ProxyOptions options)
    : options_(std::move(options)),
      rate_limiter_(options_.rate_limit, options_.rate_burst),
      auth_throttle_(options_.auth_throttle),
      access_log_(options_.access_log) {
  set_auth_token(options_.auth_token);
}

void RouterdService::register_procedures(rpc::Server& server) {
  server_ = &server;
  using Member = asio::awaitable<Reply> (RouterdService::*)(std::string, rpc::CallContext&);
  auto bind = [this](Member member) {
    return [this, member](std::string payload, rpc::CallContext& call) {
      return (this->*member)(std::move(payload), call);
    };
  };
  server.handle_callback(route_procedure,
                         [this](std::string& payload, rpc::CallContext& call, rpc::Responder responder) {
                           route(payload, call, std::move(responder));
                         });
  server.handle_callback(set_strategy_procedure,
                         [this](std::string& payload, rpc::CallContext& call, rpc::Responder responder) {
                           set_strategy(payload, call, std::move(responder));
                         });
  server.handle(status_procedure, bind(&RouterdService::status));
  server.handle(authenticate_procedure, bind(&RouterdService::authenticate));
  server.handle(drain_procedure, bind(&RouterdService::drain));
  server.handle(undrain_procedure, bind(&RouterdService::undrain));
}

std::optional<Reply> RouterdService::refuse_before_start() const {
  if (core_.load() != nullptr) return std::nullopt;
  return Reply::error(Status::unavailable, "routerd is starting");
}

// A tagged call's deadline-ms (CONTRACT §8) bounds the call as a shorter
// timeout_ms would: the smallest of the caller's deadline, its timeout_ms and
// the router's request timeout wins, so a far deadline never lengthens a
// call. False when it has passed already.
bool RouterdService::apply_caller_deadline(const rpc::CallContext& call, CallOptions& options,
                                           Clock::time_point start) const {
  if (call.deadline == Clock::time_point::max()) return true;
  if (call.deadline <= start) return false;
  auto remaining = std::max(std::chrono::duration_cast<std::chrono::milliseconds>(call.deadline - start),
                            std::chrono::milliseconds(1));
  const auto current = options.timeout.value_or(core_.load()->options().request_timeout);
  options.timeout = std::min(remaining, current);
  return true;
}

// What travels on to a backend that speaks tagged frames (CONTRACT §8): the
// caller's request id, and its trace with routerd's own span as the parent.
// An invalid traceparent is not passed on.
// The router passes them on (the trace context as a child of its own
// client span, under routerd's server span when it logs spans); the views
// stay valid until call_then returns (it copies them): `call` lives as long
// as its connection.
void RouterdService::pass_on_call_keys(const rpc::CallContext& call, CallOptions& options) {
  options.request_id = call.request_id;
  options.traceparent = call.child_traceparent;
}

void RouterdService::route(std::string_view payload, rpc::CallContext& call, rpc::Responder responder) {
  const auto start = Clock::now();
  // The book's ROUTE (CONTRACT §12): its arguments as sent (its transport
  // has no escaping), answered the book's way.
  const bool book = book::is_book_payload(call.payload_as_sent);
  // Refused before routing: answered and logged like any call.
  auto refuse = [&](Reply refusal) {
    finish_route(responder, core::CallOutcome{std::move(refusal)}, call, {}, 0, start, payload.size(), book);
  };
  // A call read after its client hung up (it was pipelined behind another):
  // nobody waits for its answer.
  if (call.abandoned) return refuse(Reply::error(Status::cancelled, "cancelled: the client went away"));
  if (auto refusal = refuse_unauthenticated(call)) return refuse(std::move(*refusal));
  if (auto refusal = refuse_before_start()) return refuse(std::move(*refusal));
  // One per thread, reused: its strings keep their capacity from call to call.
  // Nothing below runs another route() on this thread before it is done with
  // `args` (answers given at once do not serve the connection's next frame).
  thread_local RouteArgs args;
  if (auto error = book ? parse_book_route(call.payload_as_sent, args) : parse_route_args(payload, args)) {
    return refuse(Reply::error(Status::invalid_argument, *error));
  }
  const std::size_t request_bytes = args.payload.size();
  if (!apply_caller_deadline(call, args.options, start)) {
    return refuse(Reply::error(Status::deadline_exceeded, "deadline exceeded before the call started"));
  }
  pass_on_call_keys(call, args.options);
  if (auto denied = policy_.refuse_use(call.connection, "route to", args.name)) {
    core::CallOutcome refused{Reply::error(Status::permission_denied, std::move(*denied))};
    return finish_route(responder, refused, call, args.name, args.procedure_id, start, request_bytes, book);
  }

  // The rate limit sits before the router: a refused call takes no slot.
  if (!rate_limiter_.allow(args.name, start)) {
    count_rate_limited(args.name);
    core::CallOutcome refused{Reply::error(Status::resource_exhausted, "rate limit exceeded for '" + args.name + "'")};
    return finish_route(responder, refused, call, args.name, args.procedure_id, start, request_bytes, book);
  }
  // The responder keeps the connection, and so `call`, alive. The system's
  // name is kept only for the access log.
  std::string logged_name = access_log_.enabled() ? args.name : std::string();
  core::CallCompletion done = [this, responder = std::move(responder), &call, name = std::move(logged_name),
                               procedure = args.procedure_id, book, start, request_bytes](core::CallOutcome& outcome) mutable {
    finish_route(responder, outcome, call, name, procedure, start, request_bytes, book);
  };
  // A client that hangs up, cancels the call or lets its deadline pass gives
  // the call up at once (its slot and connection are freed): ServerConnection
  // tells it through on_abandoned.
  core_.load()->call_then(args.name, args.procedure_id, args.payload, args.options, std::move(done),
                          start, &call.on_abandoned);
}

// Counted per name up to max_reported_systems names, then under "_other":
// refused calls to made-up names cannot grow the map without bound.
void RouterdService::count_rate_limited(const std::string& name) {
  std::lock_guard lock(rate_limited_mutex_);
  auto it = rate_limited_.find(name);
  if (it == rate_limited_.end() && rate_limited_.size() >= max_reported_systems) {
    ++rate_limited_[other_systems];
    return;
  }
  ++rate_limited_[name];
}

void RouterdService::finish_route(rpc::Responder& responder, const core::CallOutcome& outcome,
                                  const rpc::CallContext& call, std::string_view system,
                                  std::uint32_t procedure, Clock::time_point start, std::size_t request_bytes,
                                  bool book) {
  request_bytes_.fetch_add(request_bytes, std::memory_order_relaxed);
  response_bytes_.fetch_add(outcome.reply.payload.size(), std::memory_order_relaxed);
  if (access_log_.enabled()) {
    const bool refused = !outcome.from_backend && outcome.reply.status != Status::ok;
    const std::string peer = rpc::format_host_port(call.connection.peer);
    // The trace the call joined, or the one routerd started for it.
    auto trace = common::parse_traceparent(call.child_traceparent.empty() ? call.traceparent : call.child_traceparent);
    access_log_.record({.peer = peer,
                        .system = system,
                        .procedure = procedure,
                        .status = static_cast<int>(outcome.reply.status),
                        .from_backend = outcome.from_backend,
                        .duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start),
                        .request_bytes = request_bytes,
                        .response_bytes = outcome.reply.payload.size(),
                        .backend = outcome.backend ? std::string_view(outcome.backend->address) : std::string_view(),
                        .attempts = outcome.attempts,
                        .error = refused ? std::string_view(outcome.reply.payload) : std::string_view(),
                        .request_id = call.request_id,
                        .trace_id = trace ? trace->trace_id : std::string_view(),
                        .call_id = call.id,
                        .identity = call.connection.identity});
  }
  if (book) return responder.answer_bare(book_answer(outcome.reply, outcome.from_backend), outcome.reply.status);
  if (!outcome.from_backend) return responder.answer(router_error(outcome.reply.status, outcome.reply.payload));
  // Built in a per-thread buffer that keeps its capacity: no allocation per
  // answer. answer() copies it into the connection's output before it can
  // start another call (which may come back here).
  thread_local std::string wrapped;
  wrapped.clear();
  const std::size_t limit = server_->options().max_frame_bytes;
  switch (append_backend_answer(wrapped, outcome.reply.status, outcome.reply.payload, limit)) {
    case AnswerForm::text:
    case AnswerForm::base64:
      break;
    case AnswerForm::base64_to_fit:
      answers_base64_to_fit_.fetch_add(1, std::memory_order_relaxed);
      break;
    case AnswerForm::too_large:
      answers_too_large_.fetch_add(1, std::memory_order_relaxed);
      return responder.answer(answer_too_large(outcome.reply.payload.size(), limit));
  }
  responder.answer(outcome.reply.status, wrapped);
}

// routerd's SET_STRATEGY in JSON, or the book's ({strategy: "pick-2"}:
// every system, answered `OK` or the reason in plain text). Refusals come
// before the arguments are read, whichever the form.
void RouterdService::set_strategy(std::string_view payload, rpc::CallContext& call, rpc::Responder responder) {
  const bool book = book::is_book_payload(call.payload_as_sent);
  auto refuse = [&](const Reply& error) {
    if (book) return responder.answer_bare(error.payload, error.status);
    responder.answer(router_error(error.status, error.payload));
  };
  if (auto refusal = refuse_unauthenticated(call)) return refuse(*refusal);
  if (auto denied = policy_.refuse_admin(call.connection, "SET_STRATEGY")) {
    return refuse(Reply::error(Status::permission_denied, *denied));
  }
  if (auto refusal = refuse_before_start()) return refuse(*refusal);
  std::string strategy;
  std::optional<std::string> name;
  if (book) {
    auto args = parse_book_set_strategy(call.payload_as_sent);
    if (!args.error.empty()) return refuse(Reply::error(Status::invalid_argument, args.error));
    strategy = std::move(args.strategy);
  } else {
    common::JsonArgs args(payload);
    strategy = args.required_string("strategy");
    name = args.optional_string("name");
    if (args.ok() && name && name->empty()) args.fail("field \"name\" must not be empty");
    if (!args.ok()) return refuse(Reply::error(Status::invalid_argument, args.error()));
  }
  if (!core_.load()->set_strategy(strategy, name)) {
    return refuse(Reply::error(Status::invalid_argument, "unknown strategy '" + strategy +
                                                             "' (round-robin, random, least-connections, pick-2, peak-ewma)"));
  }
  if (book) return responder.answer_bare("OK");
  responder.answer(Reply::success(boost::json::serialize(boost::json::object{{"strategy", strategy}})));
}

asio::awaitable<Reply> RouterdService::status(std::string payload, rpc::CallContext& call) {
  if (auto refusal = refuse_unauthenticated(call)) co_return router_error(refusal->status, refusal->payload);
  if (auto refusal = refuse_before_start()) co_return router_error(refusal->status, refusal->payload);
  common::JsonArgs args(payload);
  if (!args.ok()) co_return router_error(Status::invalid_argument, args.error());
  co_return Reply::success(status_json(core_.load()->stats(), proxy_stats(*server_)));
}

ProxyStats RouterdService::proxy_stats(const rpc::Server& server) const {
  auto stats = server.stats();
  ProxyStats out;
  out.open_connections = stats.open_connections;
  out.accepted_connections = stats.accepted_total;
  out.rejected_connections = stats.rejected_total;
  out.evicted_connections = stats.evicted_total;
  out.accept_errors = stats.accept_errors_total;
  out.tls_handshakes = stats.tls_handshakes_total;
  out.tls_resumed = stats.tls_resumed_total;
  out.tls_handshake_failures = stats.tls_handshake_failures_total;
  out.auth_failures = auth_failures_.load();
  out.auth_throttled = auth_throttled_.load();
  out.auth_connections_closed = auth_connections_closed_.load();
  out.auth_throttle_addresses = auth_throttle_.addresses();
  out.answers_base64_to_fit = answers_base64_to_fit_.load();
  out.answers_too_large = answers_too_large_.load();
  out.request_bytes = request_bytes_.load();
  out.response_bytes = response_bytes_.load();
  out.draining = draining_;
  out.policy_denials = policy_.denials();
  auto policy = policy_.current();
  out.policy_rules = policy ? policy->rule_count() : 0;
  std::lock_guard lock(rate_limited_mutex_);
  out.rate_limited = rate_limited_;
  return out;
}

}  // namespace routing::proxy
