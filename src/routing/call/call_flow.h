#pragma once
// The one attempt loop of a routed call, written as steps. Each step decides
// what happens next and returns the one thing the call must wait for; the
// mode's adapter does that wait (a callback on an event loop, or sleeping on
// the caller's thread) and hands the result to the next step:
//
//   start ─▶ [learn_backends] ─▶ [wait_for_permit] ─▶ next attempt:
//     pick a backend (none left: finished) ─▶ idle pooled connection
//     (checked) ─▶ [exchange]   or   make room ─▶ [connect] ─▶ [exchange]
//     (a system of the book's services: ─▶ [book_exchange], no pool)
//   exchanged ─▶ answered or deadline: finished
//             ─▶ failed: resend (Tries::try_another)? next attempt : finished
//
// Adapters: loop_calls.cpp (routerd and Router::async_call, callbacks on
// the worker loops) and blocking_calls.cpp (Router::call, on the caller's
// thread). `Pools` gives the adapter's kind of connection:
//   using Connection = ...;
//   BasicPooledConnection<Connection> take(Backend&, time_point now);
//   void give_back(BasicPooledConnection<Connection>, time_point now);
//   void make_room(System&);  // takes a connection slot before connecting
#include "book/book_call.h"
#include "routing/call/call.h"

#include <memory>
#include <optional>

namespace routing::core {

// `answer`: the request is out (sent for the call by the thread that handed
// it its permit, blocking adapter only); read the answer, then `exchanged`.
// `book_exchange`: the whole exchange in the book's transport (a connection
// of its own: book/book_call.h), then `book_exchanged`.
enum class Step { learn_backends, wait_for_permit, connect, exchange, answer, book_exchange, finished };

template <class Pools>
class CallFlow {
 public:
  using Connection = typename Pools::Connection;
  using Clock = std::chrono::steady_clock;
  using TheCall = Call<Connection>;

  CallFlow(Pools& pools, const RouterOptions& options) : pools_(pools), options_(options) {}

  // `call` has its system, request, arrival and deadline. The arrival
  // stands for "now" until the exchange (a clock read costs on this path).
  Step start(TheCall& call);
  // Discovery's first answer for the system: nullopt, or its failure.
  Step backends_learned(TheCall& call, std::optional<Reply> failure);
  // A queued wait for a permit ended.
  Step permit_waited(TheCall& call, ConcurrencyLimiter::Outcome outcome, Permit& permit);
  // How long the connect step may take: the connect timeout, within the deadline.
  Clock::duration connect_limit(const TheCall& call, Clock::time_point now) const;
  // The connect step ended: `fresh` (nullptr: failed, `error` says why).
  Step connected(TheCall& call, std::shared_ptr<Connection> fresh, std::string_view error, Clock::duration limit);
  // The exchange ended at `now`: `answered` when `reply` is the backend's
  // answer, else it is the connection's failure.
  Step exchanged(TheCall& call, Reply& reply, bool answered, Clock::time_point now);
  // The book's transport ended at `now` (the book's words for failures are
  // read as their statuses: book::status_of_answer).
  Step book_exchanged(TheCall& call, book::Exchange& exchange, Clock::time_point now);
  // What the book_exchange step may take: the call's time left, and of it
  // the connect timeout for connecting.
  book::CallLimits book_limits(const TheCall& call, Clock::time_point now) const;

 private:
  // `now`: the arrival on the path without waits (no clock read), else a reading.
  Step backends_known(TheCall& call, Clock::time_point now);
  // Every permit is taken and the queue would not get the call its answer
  // in time (QueueAdmission): status 8 at once.
  Step shed(TheCall& call, const QueueAdmission::Refusal& refusal, Clock::time_point now);
  // A permit came with less than a mean hold left: 4, not sent.
  Step too_late_to_send(TheCall& call, Clock::time_point now);
  Step permitted(TheCall& call, Clock::time_point now);
  Step next_attempt(TheCall& call, Clock::time_point now);
  Step attempt_failed(TheCall& call, Attempt& failed);
  Step finish(TheCall& call, CallOutcome&& outcome, Clock::time_point now);
  void keep_if_still_usable(TheCall& call, Clock::time_point now);
  Step backend_could_not_serve(TheCall& call, Reply& reply, Clock::time_point now);
  // The caller went away: the call ends without another attempt.
  Step give_up(TheCall& call, Clock::time_point now);

  Pools& pools_;
  const RouterOptions& options_;
};

}  // namespace routing::core
