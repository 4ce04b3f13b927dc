#pragma once
// The steps of call_flow.h (instantiated in call_flow.cpp for the two
// adapters' pools, and for fake ones in tests/unit/call_flow_test.cpp).
// Each stage says why it sits where it does.
#include "routing/call/call_flow.h"

namespace routing::core {

inline std::string ms_text(std::chrono::steady_clock::duration d) {
  return std::to_string(std::chrono::duration_cast<std::chrono::milliseconds>(d).count());
}

template <class Pools>
Step CallFlow<Pools>::start(TheCall& call) {
  // Discovery first: without a backend set there is nothing to wait for.
  if (!call.system->ready()) return Step::learn_backends;
  return backends_known(call, call.arrival);
}

template <class Pools>
Step CallFlow<Pools>::backends_learned(TheCall& call, std::optional<Reply> failure) {
  const auto now = Clock::now();  // the arrival is long past: discovery was waited for
  if (call.cancelled) return give_up(call, now);
  if (failure) return finish(call, CallOutcome{std::move(*failure)}, now);
  return backends_known(call, now);
}

template <class Pools>
Step CallFlow<Pools>::backends_known(TheCall& call, Clock::time_point now) {
  System& system = *call.system;
  call.list = system.backends();
  if (call.list->backends.empty()) {
    return finish(call, CallOutcome{Reply::error(Status::not_found, "no instances of '" + system.name() + "'")}, now);
  }
  // The permit comes before the pick, so that a queued call picks with fresh
  // load figures when it finally runs.
  if (!system.limiter.try_acquire(call.permit)) {
    call.list.reset();  // stale by the time a permit comes
    const std::size_t ahead = system.limiter.waiting();
    if (auto refusal = system.admission.refuses(now, call.deadline, ahead, system.max_queue_wait(now))) {
      return shed(call, *refusal, now);
    }
    call.queued_at = now;
    call.queued_behind = ahead;
    return Step::wait_for_permit;
  }
  return permitted(call, now);
}

template <class Pools>
Step CallFlow<Pools>::permit_waited(TheCall& call, ConcurrencyLimiter::Outcome outcome, Permit& permit) {
  System& system = *call.system;
  const auto now = Clock::now();
  if (call.cancelled) {
    permit.release();
    return give_up(call, now);
  }
  if (outcome == ConcurrencyLimiter::Outcome::acquired) system.admission.note_wait(now - call.queued_at, call.queued_behind);
  if (outcome == ConcurrencyLimiter::Outcome::timed_out) {
    system.admission.queue_wait.record(now - call.queued_at);
    system.admission.note_late(now);
  }
  switch (outcome) {
    case ConcurrencyLimiter::Outcome::acquired:
      if (system.admission.too_late_to_send(now, call.deadline)) {
        permit.release();
        return too_late_to_send(call, now);
      }
      call.permit = std::move(permit);
      return permitted(call, now);
    case ConcurrencyLimiter::Outcome::queue_full:
      return finish(call,
                    CallOutcome{Reply::error(Status::resource_exhausted,
                                             "too many calls waiting for '" + system.name() + "' (max pending " +
                                                 std::to_string(system.limiter.max_pending()) + ")")},
                    now);
    case ConcurrencyLimiter::Outcome::timed_out:
      break;
  }
  return finish(call,
                CallOutcome{Reply::error(Status::deadline_exceeded,
                                         "deadline exceeded waiting for a free slot of '" + system.name() + "'")},
                now);
}

template <class Pools>
Step CallFlow<Pools>::shed(TheCall& call, const QueueAdmission::Refusal& refusal, Clock::time_point now) {
  System& system = *call.system;
  system.admission.note_shed(now);
  std::string why = "'" + system.name() + "' is overloaded: a slot would come in about " + ms_text(refusal.expected_wait) +
                    " ms (" + std::to_string(system.limiter.waiting()) + " calls wait ahead)";
  why += refusal.left.count() > 0 ? ", the call has " + ms_text(refusal.left) + " ms left" : ", the call has no time left";
  if (auto bound = system.max_queue_wait(now)) why += " and calls wait at most about " + ms_text(*bound) + " ms";
  return finish(call, CallOutcome{Reply::error(Status::resource_exhausted, why + "; refused at once")}, now);
}

// The queue moved slower than expected: sending now would most likely spend
// the backend's time on an answer that comes too late. The deadline is what
// fails the call (4), the router only spares the backend.
template <class Pools>
Step CallFlow<Pools>::too_late_to_send(TheCall& call, Clock::time_point now) {
  System& system = *call.system;
  system.admission.note_late(now);
  const std::string why = "deadline exceeded waiting for a slot of '" + system.name() + "': it came with " +
                          ms_text(call.deadline - now) + " ms left, calls take about " +
                          ms_text(system.admission.mean_hold()) + " ms; not sent";
  return finish(call, CallOutcome{Reply::error(Status::deadline_exceeded, why)}, now);
}

template <class Pools>
Step CallFlow<Pools>::permitted(TheCall& call, Clock::time_point now) {
  call.permitted_at = now;
  call.system->budget.deposit(now);  // every first attempt earns retries
  return next_attempt(call, now);
}

template <class Pools>
Step CallFlow<Pools>::next_attempt(TheCall& call, Clock::time_point now) {
  System& system = *call.system;
  auto list = call.list ? std::move(call.list) : system.backends();
  call.backend = system.pick(*list, call.tries.excluded(), now);
  if (!call.backend) return finish(call, CallOutcome{call.tries.no_backend_left(system, *list)}, now);
  call.attempt_start = now;
  if (system.speaks_book()) {
    call.backend->begin_call();
    return Step::book_exchange;
  }
  // An idle connection skips the handshake; take() checks it is still open.
  call.connection = pools_.take(*call.backend, now);
  if (!call.connection) {
    pools_.make_room(system);
    return Step::connect;
  }
  call.backend->begin_call();
  return Step::exchange;
}

template <class Pools>
typename CallFlow<Pools>::Clock::duration CallFlow<Pools>::connect_limit(const TheCall& call,
                                                                         Clock::time_point now) const {
  return std::min<Clock::duration>(options_.connect_timeout, call.deadline - now);
}

template <class Pools>
Step CallFlow<Pools>::connected(TheCall& call, std::shared_ptr<Connection> fresh, std::string_view error,
                                Clock::duration limit) {
  if (fresh) {
    call.connection = BasicPooledConnection<Connection>(std::move(fresh), call.backend);
    if (call.cancelled) {  // unused: it serves the next call
      const auto now = Clock::now();
      pools_.give_back(std::move(call.connection), now);
      return give_up(call, now);
    }
    call.backend->begin_call();
    return Step::exchange;
  }
  transition(*call.system, nullptr, ConnectionState::connecting, ConnectionState::closed);  // make_room's slot
  if (call.cancelled) return give_up(call, Clock::now());
  // Both adapters say "timed out" when the limit ran out (Asio's timed_out,
  // the blocking connect's own), "no time left" when none was left to try.
  const bool timed_out = error.find("timed out") != std::string_view::npos || error == "no time left";
  Attempt failed = connect_failed(*call.backend, error, limit, Clock::now() >= call.deadline, timed_out);
  // A backend that took the call's whole time to connect or to answer the
  // tagged-frames probe (one that accepts and never reads) is as unresponsive
  // as one that never answers a call: the same rule may eject it.
  if (failed.end == AttemptEnd::deadline) call.system->record_missed_deadline(*call.backend, call.arrival, call.attempt_start, call.deadline);
  return attempt_failed(call, failed);
}

template <class Pools>
Step CallFlow<Pools>::exchanged(TheCall& call, Reply& reply, bool answered, Clock::time_point now) {
  Backend& backend = *call.backend;
  backend.end_call(now - call.attempt_start, now);
  if (call.cancelled && !answered) {  // we cancelled the call: no fault of the backend's
    keep_if_still_usable(call, now);
    return give_up(call, now);
  }
  backend.calls.add(static_cast<int>(reply.status));
  const AttemptEnd end = exchange_ended(answered, reply.status, now >= call.deadline);
  if (end == AttemptEnd::answered && reply.status == Status::unavailable && call.options.idempotent &&
      pool_detail::shares(call.connection.connection())) {
    return backend_could_not_serve(call, reply, now);
  }
  if (end == AttemptEnd::answered) {
    call.system->record_success(backend, now);
    pools_.give_back(std::move(call.connection), now);
    return finish(call, CallOutcome{std::move(reply), true}, now);
  }
  Attempt attempt{end, exchange_failure(backend, end, reply)};
  if (end == AttemptEnd::deadline) {
    keep_if_still_usable(call, now);
    call.system->record_missed_deadline(backend, call.arrival, call.attempt_start, call.deadline);
    return finish(call, CallOutcome{std::move(attempt.reply)}, now);
  }
  keep_if_still_usable(call, now);  // one that saw an error is closed (a shared one: by the failure)
  return attempt_failed(call, attempt);
}

template <class Pools>
book::CallLimits CallFlow<Pools>::book_limits(const TheCall& call, Clock::time_point now) const {
  auto ms = [](Clock::duration d) {
    return std::max(std::chrono::ceil<std::chrono::milliseconds>(d), std::chrono::milliseconds(0));
  };
  return {.timeout = ms(call.deadline - now), .connect_timeout = ms(options_.connect_timeout),
          .max_answer_bytes = options_.max_frame_bytes};
}

// The same classification as a pooled exchange: not sent (connecting
// failed) may go to another backend; after sending, only what is
// idempotent; the deadline ends the call.
template <class Pools>
Step CallFlow<Pools>::book_exchanged(TheCall& call, book::Exchange& exchange, Clock::time_point now) {
  Backend& backend = *call.backend;
  backend.end_call(now - call.attempt_start, now);
  if (call.cancelled) return give_up(call, now);
  Reply& reply = exchange.reply;
  if (!exchange.sent) {
    const bool timed_out = reply.status == Status::deadline_exceeded;
    Attempt failed = connect_failed(backend, reply.payload, std::chrono::duration_cast<Clock::duration>(
                                                                book_limits(call, call.attempt_start).connect_timeout),
                                    now >= call.deadline, timed_out);
    if (failed.end == AttemptEnd::deadline) call.system->record_missed_deadline(backend, call.arrival, call.attempt_start, call.deadline);
    return attempt_failed(call, failed);
  }
  if (exchange.answered) reply.status = book::status_of_answer(reply.payload);
  backend.calls.add(static_cast<int>(reply.status));
  const AttemptEnd end = exchange_ended(exchange.answered, reply.status, now >= call.deadline);
  if (end == AttemptEnd::answered) {
    call.system->record_success(backend, now);
    return finish(call, CallOutcome{std::move(reply), true}, now);
  }
  Attempt attempt{end, exchange_failure(backend, end, reply)};
  if (end == AttemptEnd::deadline) {
    call.system->record_missed_deadline(backend, call.arrival, call.attempt_start, call.deadline);
    return finish(call, CallOutcome{std::move(attempt.reply)}, now);
  }
  return attempt_failed(call, attempt);
}

// An idempotent call the backend answered 14 on a tagged connection: it
// could not serve it (a stopping server answers 14#<id> to the calls it cuts
// at its drain timeout, where the line protocol's cut shows as a broken
// connection), so it is resent once to another backend, as after a
// connection failure. Other calls, and 14 on the line protocol, keep the
// backend's answer. The connection itself ended the exchange cleanly.
template <class Pools>
Step CallFlow<Pools>::backend_could_not_serve(TheCall& call, Reply& reply, Clock::time_point now) {
  pools_.give_back(std::move(call.connection), now);
  Attempt attempt{AttemptEnd::failed_after_send, std::move(reply)};
  if (call.tries.try_another(*call.system, *call.backend, attempt, call.options, call.deadline)) {
    return next_attempt(call, Clock::now());
  }
  return finish(call, CallOutcome{std::move(attempt.reply), true}, now);
}

// A tagged connection gave up the one call (cancelled, or past its
// deadline) and serves on; any other connection that saw a failure is closed.
// A lease always goes back: the pool then drops its connection if it closed.
template <class Pools>
void CallFlow<Pools>::keep_if_still_usable(TheCall& call, Clock::time_point now) {
  auto& connection = call.connection;
  if (connection && (connection.is_lease() ||
                     (pool_detail::shares(connection.connection()) && connection.connection().is_open()))) {
    pools_.give_back(std::move(connection), now);
    return;
  }
  connection.close();
}

template <class Pools>
Step CallFlow<Pools>::attempt_failed(TheCall& call, Attempt& failed) {
  if (failed.end != AttemptEnd::deadline &&
      call.tries.try_another(*call.system, *call.backend, failed, call.options, call.deadline)) {
    return next_attempt(call, Clock::now());
  }
  return finish(call, CallOutcome{std::move(failed.reply)}, Clock::now());
}

template <class Pools>
Step CallFlow<Pools>::give_up(TheCall& call, Clock::time_point now) {
  return finish(call, CallOutcome{Reply::error(Status::cancelled, "cancelled: the caller went away")}, now);
}

// Every outcome passes here: the system's figures, and the permit goes back
// before the caller hears the answer (its next call should find the slot).
template <class Pools>
Step CallFlow<Pools>::finish(TheCall& call, CallOutcome&& outcome, Clock::time_point now) {
  System& system = *call.system;
  system.calls.add(static_cast<int>(outcome.reply.status));
  system.calls_by_procedure.add(call.procedure, static_cast<int>(outcome.reply.status));
  system.latency.record(now - call.arrival);
  const bool missed_deadline = outcome.reply.status == Status::deadline_exceeded;
  // Holds are learned only while calls wait (when the queue's figures are
  // used): at other times every call would store to one shared cache line.
  if (call.permit && system.limiter.waiting() > 0) {
    system.admission.note_hold(now - call.permitted_at, missed_deadline);
  }
  // A call that queued and then missed its deadline: the queue is longer
  // than its calls can wait (overload). queued_at is this call's only if not
  // before its arrival (call objects are reused).
  if (missed_deadline && call.queued_at >= call.arrival) system.admission.note_late(now);
  call.permit.release();
  outcome.attempts = static_cast<unsigned>(call.tries.count) + (call.backend ? 1 : 0);
  outcome.backend = std::move(call.backend);
  call.outcome = std::move(outcome);
  return Step::finished;
}

}  // namespace routing::core
