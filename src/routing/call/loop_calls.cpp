// The event-loop adapter of the call flow (call_flow.h), for routerd and
// Router::async_call: a call runs on one worker as callbacks. The usual call
// (system known, a free slot, an idle connection) is a request on that
// connection and a callback on its answer: no coroutine frame, no trip
// through the loop's queue, no allocation (its state is reused per thread;
// docs/performance.md). Every wait the flow asks for is one callback:
// discovery and connecting through a short coroutine, a slot through the
// limiter's queue, the exchange through ClientConnection::call_then.
#include "routing/call/call_flow.h"
#include "routing/call/call_trace.h"
#include "routing/call/pools.h"
#include "routing/router_core.h"
#include "rpc/timed_call.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace routing::core {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

struct RouterCore::LoopCall : Call<rpc::ClientConnection> {
  std::size_t worker = 0;
  std::string payload_copy;  // `payload` views it; keeps its capacity
  std::uint64_t call_id = 0;  // on a tagged connection, for cancel()
  CallCompletion done;
  // The caller's slot through which it can give the call up (routerd: the
  // call's CallContext::on_abandoned), or nullptr; and what the call waits
  // for now, so that giving up can cut that wait short.
  std::function<void()>* cancel_hook = nullptr;
  Step waiting_for = Step::finished;
  std::weak_ptr<ConcurrencyLimiter::Waiter> permit_wait;

  // Lets go of everything but the payload's capacity. The flow's finish
  // already gave back the permit, the backend and the connection.
  void clear() {
    permit.release();  // before the system it points into
    system.reset();
    backend.reset();
    connection = PooledConnection{};
    list.reset();
    tries.reset();
    payload_copy.clear();
    keys.clear();
    done = CallCompletion{};
    cancelled = false;
    cancel_hook = nullptr;
    permit_wait.reset();
  }
};

namespace {

// This thread's spare LoopCalls: a routed call then allocates neither its
// state nor, within the capacity an earlier call left, the copy of its
// payload. Bounded: a burst's worth is kept, the rest freed.
class SpareCalls {
 public:
  using Call = RouterCore::LoopCall;
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

thread_local SpareCalls spare_calls;

}  // namespace

void RouterCore::call_then(std::string_view system, std::uint32_t procedure, std::string_view payload,
                           CallOptions options, CallCompletion done, Clock::time_point arrival,
                           std::function<void()>* cancel_hook) {
  if (Worker* worker = current_worker()) {
    return run_loop_call(*worker, system, procedure, payload, options, done, arrival, cancel_hook);
  }
  // Not on one of our loops: the call moves to one (round-robin).
  Worker& target = next_worker();
  asio::post(target.executor, [this, &target, system = std::string(system), procedure,
                               payload = std::string(payload), options, traceparent = std::string(options.traceparent),
                               request_id = std::string(options.request_id), done = std::move(done),
                               arrival]() mutable {
    options.traceparent = traceparent;  // the caller's strings are gone by now
    options.request_id = request_id;
    run_loop_call(target, system, procedure, payload, options, done, arrival, nullptr);
  });
}

void RouterCore::run_loop_call(Worker& worker, std::string_view system, std::uint32_t procedure,
                               std::string_view payload, const CallOptions& options, CallCompletion& done,
                               Clock::time_point arrival, std::function<void()>* cancel_hook) {
  CallOutcome refused;
  auto found = system_for_call(system, refused);
  if (!found) return done(refused);
  run_loop_call(worker, std::move(found), procedure, payload, options, done, arrival, cancel_hook);
}

void RouterCore::run_loop_call(Worker& worker, std::shared_ptr<System> system, std::uint32_t procedure,
                               std::string_view payload, const CallOptions& options, CallCompletion& done,
                               Clock::time_point arrival, std::function<void()>* cancel_hook) {
  auto call = spare_calls.take();
  call->system = std::move(system);
  call->system->touch(arrival);
  call->worker = worker.index;
  call->procedure = procedure;
  call->payload_copy.assign(payload);
  call->payload = call->payload_copy;
  call->options = options;
  call->keys.keep(call->options, spans_ != nullptr);
  call->arrival = arrival;
  call->deadline = call_deadline(arrival, options, RouterCore::options());
  call->done = std::move(done);
  call->cancel_hook = cancel_hook;
  LoopPools pools{pools_, worker.index};
  Step first = CallFlow(pools, RouterCore::options()).start(*call);
  advance(std::move(call), first);
}

asio::awaitable<CallOutcome> RouterCore::call(std::string system, std::uint32_t procedure, std::string payload,
                                              CallOptions options) {
  auto arrival = Clock::now();
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(CallOutcome)>(
      [this, system = std::move(system), procedure, payload = std::move(payload), options, arrival](auto handler) {
        // Resumes the awaiting coroutine on its own executor (inline when
        // that is the worker the call ran on). The work guard keeps that
        // executor's loop running until the hand-over has returned: a caller
        // whose loop ends with this call may destroy it right after the
        // coroutine resumes, while a post from here could still be signalling
        // that loop (ThreadSanitizer saw it).
        auto home = asio::make_work_guard(asio::get_associated_executor(handler));
        using Handler = decltype(handler);
        using Guard = decltype(home);
        struct Waiting {
          Handler handler;
          Guard home;
        };
        auto resume = [waiting = std::make_unique<Waiting>(Waiting{std::move(handler), std::move(home)})](
                          CallOutcome& outcome) mutable {
          auto home = std::move(waiting->home);
          asio::dispatch(home.get_executor(), [waiting = std::move(waiting), outcome = std::move(outcome)]() mutable {
            std::move(waiting->handler)(std::move(outcome));
          });
          home.reset();
        };
        call_then(system, procedure, payload, options, std::move(resume), arrival, nullptr);
      },
      asio::use_awaitable);
}

// Does what the flow asks for, then hands the result to its next step.
void RouterCore::advance(std::unique_ptr<LoopCall> call, Step step) {
  LoopCall& c = *call;
  const auto& loop = workers_[c.worker]->executor;
  c.waiting_for = step;
  if (c.cancel_hook != nullptr) {
    if (step == Step::finished) {
      *c.cancel_hook = nullptr;
    } else if (!*c.cancel_hook) {
      *c.cancel_hook = [this, &c] { give_up(c); };  // the call's state stays put until it finishes
    }
  }
  switch (step) {
    case Step::learn_backends:
      asio::co_spawn(loop, learn_backends(std::move(call)), asio::detached);
      return;
    case Step::wait_for_permit: {
      auto waiter = c.system->limiter.acquire_then(c.deadline, loop,
                                     [this, call = std::move(call)](ConcurrencyLimiter::Outcome outcome,
                                                                    Permit& permit) mutable {
                                       LoopPools pools{pools_, call->worker};
                                       Step next = CallFlow(pools, options()).permit_waited(*call, outcome, permit);
                                       advance(std::move(call), next);
                                     });
      // Not stored when the queue was full: the call has ended (inline) then.
      if (waiter) c.permit_wait = waiter;
      return;
    }
    case Step::connect:
      asio::co_spawn(loop, connect(std::move(call)), asio::detached);
      return;
    case Step::book_exchange:
      asio::co_spawn(loop, book_exchange(std::move(call)), asio::detached);
      return;
    case Step::answer:  // blocking adapter only
    case Step::exchange: {
      auto& wire = c.connection.connection();
      const rpc::ClientConnection::CallKeys keys{c.options.traceparent, c.options.request_id};
      // Never completes inside call_then: `c` is still there to note the id.
      c.call_id = wire.call_then(c.procedure, c.payload, c.deadline,
                                 [this, call = std::move(call)](Reply& reply, bool answered) mutable {
                                   on_answer(std::move(call), reply, answered);
                                 },
                                 keys);
      return;
    }
    case Step::finished: {
      end_client_span(c);
      // The call's state goes back before the caller hears the answer.
      CallCompletion done = std::move(c.done);
      CallOutcome outcome = std::move(c.outcome);
      spare_calls.give_back(std::move(call));
      done(outcome);
      return;
    }
  }
}

// Discovery's first answer for the call's system (fetched once for every
// call waiting for it, each within its deadline), then the next step.
asio::awaitable<void> RouterCore::learn_backends(std::unique_ptr<LoopCall> call) {
  std::optional<Reply> failure;
  try {
    failure = co_await learn_first_set(call->system, call->deadline);
  } catch (const std::exception& e) {
    failure = Reply::error(Status::internal, std::string("internal error in discovery: ") + e.what());
  }
  LoopPools pools{pools_, call->worker};
  Step next = CallFlow(pools, options()).backends_learned(*call, std::move(failure));
  advance(std::move(call), next);
}

// A traced call's client span, when the router logs spans.
void RouterCore::end_client_span(const LoopCall& c) {
  if (spans_) record_client_span(*spans_, c.options, c.keys, c.system->name(), c.procedure, c.outcome, c.arrival);
}

// Does the backend speak tagged frames? Asked once per connection, within
// the connect step's limit. False, with `error`, when the connection did not
// survive the question (a version-1 backend answers and stays usable).
asio::awaitable<bool> RouterCore::probe_tagged(rpc::ClientConnection& connection, Clock::time_point until,
                                               std::string& error) {
  co_await connection.async_probe_tagged(until, asio::use_awaitable);
  if (connection.is_open()) co_return true;
  if (std::string why = connection.tls_failure(); !why.empty()) {
    error = "TLS: " + why;  // e.g. the backend refused our certificate
  } else {
    error = Clock::now() >= until ? "timed out waiting for the answer to the tagged-frames probe"
                                  : "connection closed during the tagged-frames probe";
  }
  co_return false;
}

// The connect step: a short coroutine (connects are rare on a warm pool).
asio::awaitable<void> RouterCore::connect(std::unique_ptr<LoopCall> call) {
  LoopPools pools{pools_, call->worker};
  CallFlow flow(pools, options());
  auto limit = flow.connect_limit(*call, Clock::now());
  std::shared_ptr<rpc::ClientConnection> fresh;
  const auto target = call->backend->endpoint.get();  // a refresh may change it meanwhile
  std::string error = target ? "no time left" : "host not found";
  if (target && limit > Clock::duration::zero()) {
    try {
      auto connection = rpc::ClientConnection::create(workers_[call->worker]->executor, options().max_frame_bytes);
      connection->verify_answers(options().verify_answers);
      backend_tls_.apply(*connection, call->backend->address);
      const auto until = Clock::now() + limit;
      auto ec = co_await rpc::connect_within(connection, *target, limit);
      if (ec) {
        error = connection->describe_connect_error(ec);
      } else if (options().tagged_frames && !co_await probe_tagged(*connection, until, error)) {
        // `error` says why; the call was not sent, so it may go elsewhere.
      } else {
        fresh = std::move(connection);
      }
    } catch (const std::exception& e) {  // the slot and the call must still end
      error = std::string("internal error: ") + e.what();
    }
  }
  Step next = flow.connected(*call, std::move(fresh), error, limit);
  advance(std::move(call), next);
}

// The book's transport: a connection per call, bounded by the deadline
// (a caller who goes away cannot cut it shorter).
asio::awaitable<void> RouterCore::book_exchange(std::unique_ptr<LoopCall> call) {
  LoopPools pools{pools_, call->worker};
  CallFlow flow(pools, options());
  book::Exchange done;
  try {
    if (const auto target = call->backend->endpoint.get()) {
      done = co_await book::exchange(workers_[call->worker]->executor, *target, call->backend->address,
                                     call->procedure, std::string(call->payload), flow.book_limits(*call, Clock::now()));
    } else {
      done.reply = Reply::error(Status::unavailable, call->backend->address + ": host not found");
    }
  } catch (const std::exception& e) {  // the slot and the call must still end
    done = book::Exchange{Reply::error(Status::internal, std::string("internal error: ") + e.what()), true, false};
  }
  Step next = flow.book_exchanged(*call, done, Clock::now());
  advance(std::move(call), next);
}

void RouterCore::on_answer(std::unique_ptr<LoopCall> call, Reply& reply, bool answered) {
  const auto now = Clock::now();
  LoopCall& c = *call;
  LoopPools pools{pools_, c.worker};
  Step next = CallFlow(pools, options()).exchanged(c, reply, answered, now);
  if (next != Step::finished) return advance(std::move(call), next);
  if (c.cancel_hook != nullptr) *c.cancel_hook = nullptr;
  end_client_span(c);
  // The outcome is lent to `done` (the permit is back already); then its
  // buffer goes back to the connection, which decodes its next answer into
  // it (no allocation per answer), and the call's state to the spares.
  c.done(c.outcome);
  reply.payload = std::move(c.outcome.reply.payload);
  c.outcome.backend.reset();  // a spare call keeps no backend alive
  spare_calls.give_back(std::move(call));
}

// The caller went away: the wait in progress is cut short where it can be
// (a slot's wait; an exchange: on a tagged connection the call alone is
// cancelled, else the connection is closed, since its answer could not be
// told from the next call's); discovery and connecting are
// bounded by the deadline and the connect timeout. The flow ends the call
// when the wait ends (CallFlow::give_up). On the call's worker thread.
void RouterCore::give_up(LoopCall& c) {
  if (c.cancelled) return;
  c.cancelled = true;
  if (c.waiting_for == Step::wait_for_permit) {
    if (auto waiter = c.permit_wait.lock()) c.system->limiter.cut_short(*waiter);
  } else if (c.waiting_for == Step::exchange && c.connection) {
    c.connection.connection().cancel(c.call_id);  // the line protocol: closes
  }
}

}  // namespace routing::core
