// The blocking adapter of the call flow (call_flow.h), for Router::call. A
// call that comes alone runs on the caller's own thread with blocking
// sockets from the blocking pool, so it costs about what a direct call
// costs. Calls that overlap go to a worker, where they batch on its shared
// tagged connections (joins_the_others_on_a_worker); so do TLS and book
// calls, and a system's first discovery. On the line protocol a call that
// finds every slot taken sleeps here in the limiter's FIFO queue.
#include "routing/call/call_flow.h"
#include "routing/call/call_trace.h"
#include "routing/call/pools.h"
#include "routing/call/wake_chain.h"
#include "routing/router_core.h"

#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <thread>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

namespace routing::core {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

// The caller sleeps on its thread's HandedCall until the worker has filled
// the outcome and it is woken (wake_chain.h). The caller's strings outlive
// the call (it waits for it), so the posted call only points at them;
// run_loop_call copies what it keeps. The system was found by the caller.
CallOutcome RouterCore::call_on_a_worker(std::shared_ptr<System> system, std::uint32_t procedure, std::string_view payload,
                                         const CallOptions& options, Clock::time_point arrival) {
  thread_local HandedCall handed;
  HandedCall* mine = &handed;
  mine->reset();
  Worker& target = next_worker();
  asio::post(target.executor, [this, &target, system = std::move(system), procedure, payload, &options, arrival,
                               mine]() mutable {
    CallCompletion done = [mine, &target](CallOutcome& outcome) {
      mine->outcome = std::move(outcome);
      // Batched wakes only from the worker's own thread, whose queue the
      // batch's wake is posted to (a loop restarted by a test runs on
      // another thread than the one recorded).
      if (target.thread == std::this_thread::get_id()) {
        wake_after_this_batch(*mine, target.executor);
      } else {
        mine->finished.set();
      }
    };
    run_loop_call(target, std::move(system), procedure, payload, options, done, arrival, nullptr);
  });
  mine->wait_and_pass_on();
  return std::move(mine->outcome);
}

namespace {

// A blocking call runs on its caller's thread while its system's calls come
// one at a time: that saves two thread switches (one caller: 31k calls/s on
// its thread, 16k through a worker). Once calls overlap, a worker's loop
// carries them together: one write and one read for several calls on its
// shared tagged connections, which the backend then reads together too (16
// callers at the default pool of 10: 1.0-1.1x direct calls through the
// worker with wake_chain.h, 0.75x each on its own thread). They keep going through the worker until 50 to
// 100 ms pass without overlap (renewed once per 50 ms), so that calls do
// not move back and forth between the two kinds of connections (at a small
// pool's bound each move closed an idle connection of the other kind).
// docs/performance.md "Issue 19: blocking calls with company".
bool joins_the_others_on_a_worker(System& system, const RouterOptions& options, Clock::time_point now) {
  if (!options.tagged_frames) return false;  // nothing to batch: each call has its connection
  constexpr auto linger = std::chrono::milliseconds(100);
  const auto at = now.time_since_epoch().count();
  auto& until = system.blocking_company_until;
  if (system.limiter.in_use() > 0 || system.limiter.waiting() > 0) {
    // One store per half linger, not per call (a shared cache line).
    const auto renewed = (now + linger).time_since_epoch().count();
    if (until.load(std::memory_order_relaxed) < renewed - Clock::duration(linger / 2).count()) {
      until.store(renewed, std::memory_order_relaxed);
    }
    return true;
  }
  return at < until.load(std::memory_order_relaxed);
}

}  // namespace

CallOutcome RouterCore::call_blocking(std::string_view system, std::uint32_t procedure, std::string_view payload,
                                      const CallOptions& options) {
  const auto arrival = Clock::now();
  Call<rpc::BlockingConnection> call;
  CallOutcome refused;
  call.system = system_for_call(system, refused);
  if (!call.system) return refused;
  const RouterOptions& router = RouterCore::options();  // one version for the whole call
  // Blocking connections speak no TLS; the book's transport runs on the
  // loops (book/book_call.h).
  if (backend_tls_.enabled() || call.system->speaks_book() ||
      joins_the_others_on_a_worker(*call.system, router, arrival)) {
    return call_on_a_worker(std::move(call.system), procedure, payload, options, arrival);
  }
  call.system->touch(arrival);
  call.procedure = procedure;
  call.payload = payload;
  call.options = options;
  call.keys.keep(call.options, spans_ != nullptr);
  call.arrival = arrival;
  call.deadline = call_deadline(arrival, options, router);

  BlockingPools pools{pools_};
  CallFlow flow(pools, router);
  for (Step step = flow.start(call);;) {
    switch (step) {
      case Step::learn_backends:
        step = flow.backends_learned(call, learn_backends_on_a_worker(call.system, call.deadline));
        break;
      case Step::wait_for_permit:
        step = wait_for_permit_here(call, flow);
        break;
      case Step::connect: {
        auto limit = flow.connect_limit(call, Clock::now());
        const auto target = call.backend->endpoint.get();  // a refresh may change it meanwhile
        std::string error = target ? "no time left" : "host not found";
        std::shared_ptr<rpc::BlockingConnection> fresh;
        if (target && limit > Clock::duration::zero()) {
          fresh = rpc::BlockingConnection::connect(*target, limit, router.max_frame_bytes, error, router.tagged_frames);
          if (fresh) fresh->verify_answers(router.verify_answers);
        }
        step = flow.connected(call, std::move(fresh), error, limit);
        break;
      }
      case Step::exchange: {
        Reply reply;
        const rpc::CallKeys keys{call.options.traceparent, call.options.request_id};
        bool answered =
            call.connection.connection().exchange(call.procedure, call.payload, call.deadline, reply, keys);
        step = flow.exchanged(call, reply, answered, Clock::now());
        break;
      }
      case Step::answer: {  // the request went out from the thread that granted the permit
        step = receive_handed_answer(call, flow);
        break;
      }
      case Step::book_exchange: {  // not reached: such calls go to a worker (above)
        book::Exchange refused_here{Reply::error(Status::internal, "internal error: a book call on a blocking path")};
        step = flow.book_exchanged(call, refused_here, Clock::now());
        break;
      }
      case Step::finished:
        if (spans_) {
          record_client_span(*spans_, call.options, call.keys, call.system->name(), call.procedure, call.outcome,
                             call.arrival);
        }
        return std::move(call.outcome);
    }
  }
}

namespace {

// This thread's place to wait for a permit: an epoll set holding an eventfd
// (the granter's "your turn, go on from this step") and, when the granter
// sent this call's request for it, that request's socket, so the one wake-up
// of a waiting call is its answer's arrival. docs/performance.md has why.
class HandedWait final : public rpc::BlockingConnection::Waker {
 public:
  // sent: a line-protocol request (its socket is in the epoll set);
  // sent_tagged: a tagged one (its connection wakes us through wake()).
  enum State { pending, step_ready, sent, sent_tagged };

  static HandedWait& mine() {
    thread_local HandedWait wait;
    return wait;
  }
  HandedWait(const HandedWait&) = delete;
  HandedWait& operator=(const HandedWait&) = delete;
  ~HandedWait() {
    settle();
    ::close(events_);
    ::close(epoll_);
  }

  void reset() {
    settle();
    // Only a handed step writes the eventfd; one read empties its counter.
    // (Reading it every time cost a system call per waiting call.)
    if (state_.load(std::memory_order_relaxed) == step_ready || woken_.load(std::memory_order_relaxed)) {
      std::uint64_t drained;
      [[maybe_unused]] auto read = ::read(events_, &drained, sizeof drained);
    }
    woken_.store(false, std::memory_order_relaxed);
    state_.store(pending, std::memory_order_relaxed);
    tagged_call_.answered = tagged_call_.ok = tagged_call_.sent = false;
  }
  // Until the thread handing this call over is done with it (a tagged
  // call's send may still be under way when this thread wakes).
  void wait_for_granter() { settle(); }
  // On the granter's thread: begin_handing(), then go_on() or answer_on().
  // The waiting thread may run on as soon as the state is stored, but this
  // thread still writes to the eventfd or the epoll set after it: `handing_`
  // keeps them open until it is done (settle()).
  void begin_handing() { handing_.store(true, std::memory_order_relaxed); }
  void go_on(Step step) {
    step_ = step;
    state_.store(step_ready, std::memory_order_release);
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(events_, &one, sizeof one);
    handing_.store(false, std::memory_order_release);
  }
  void answer_on(int socket) {
    state_.store(sent, std::memory_order_release);  // before the socket can wake us
    watch(socket);
    handing_.store(false, std::memory_order_release);
  }
  void mark_sent_tagged() { state_.store(sent_tagged, std::memory_order_release); }
  void done_handing() { handing_.store(false, std::memory_order_release); }
  // A tagged connection: the call sent for us is answered, or we are to read.
  // Under the connection's lock, so before this thread's receive_tagged.
  void wake() override {
    woken_.store(true, std::memory_order_release);
    std::uint64_t one = 1;
    [[maybe_unused]] auto written = ::write(events_, &one, sizeof one);
  }
  // A tagged connection: we are to read for its callers once it has data.
  void read_when_ready(int socket) override { watch(socket); }
  rpc::BlockingConnection::TaggedCall& tagged_call() { return tagged_call_; }

  // On the waiting thread: until handed a step, a line request's answer
  // arrives, a tagged one's connection wakes us, or `deadline`; the state.
  State sleep_until(Clock::time_point deadline) {
    bool socket_ready = false;  // a watched socket has data
    for (;;) {
      auto state = static_cast<State>(state_.load(std::memory_order_acquire));
      if (state == step_ready || state == sent) return state;
      if (state == sent_tagged && (woken_.load(std::memory_order_acquire) || socket_ready)) return state;
      auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
      if (left <= 0) return state;
      epoll_event events[2];
      int ready = ::epoll_wait(epoll_, events, 2, static_cast<int>(std::min<long long>(left, 60'000)));
      for (int i = 0; i < ready; ++i) socket_ready = socket_ready || events[i].data.u64 == 1;
    }
  }
  Step step() const { return step_; }

 private:
  // Wakes this thread once `socket` has data (one-shot). Re-armed (one
  // system call) when this thread waited on this socket before, as it
  // mostly has: a pool's few connections serve every thread.
  void watch(int socket) {
    epoll_event event{};
    event.events = EPOLLIN | EPOLLRDHUP | EPOLLONESHOT;
    event.data.u64 = 1;
    if (::epoll_ctl(epoll_, EPOLL_CTL_MOD, socket, &event) != 0) ::epoll_ctl(epoll_, EPOLL_CTL_ADD, socket, &event);
  }
  void settle() {
    while (handing_.load(std::memory_order_acquire)) std::this_thread::yield();
  }
  HandedWait() : epoll_(::epoll_create1(EPOLL_CLOEXEC)), events_(::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) {
    epoll_event event{};
    event.events = EPOLLIN;
    ::epoll_ctl(epoll_, EPOLL_CTL_ADD, events_, &event);
  }

  int epoll_;
  int events_;
  std::atomic<int> state_{pending};
  std::atomic<bool> handing_{false};
  std::atomic<bool> woken_{false};  // wake() wrote to the eventfd
  Step step_ = Step::finished;
  rpc::BlockingConnection::TaggedCall tagged_call_;
};

}  // namespace

// A call that found every slot taken waits here, on its own thread, in the
// limiter's FIFO queue. The thread that gives a permit back hands it over and
// goes on with this call up to its request (pick, pooled connection, send),
// so that this thread wakes once, when the answer arrives; whatever else the
// call needs next (a connect, an answer of the router's) it does itself.
Step RouterCore::wait_for_permit_here(Call<rpc::BlockingConnection>& call, CallFlow<BlockingPools>& flow) {
  auto& wait = HandedWait::mine();
  wait.reset();
  auto waiter = call.system->limiter.enqueue_handed([&call, &flow, &wait](Permit& permit) {
    wait.begin_handing();
    Step next = flow.permit_waited(call, ConcurrencyLimiter::Outcome::acquired, permit);
    if (next == Step::exchange && call.connection.connection().tagged()) {
      // Its answer may come to any caller's read, even before send_tagged
      // returns: whoever reads it wakes us (a failed send too), so the state
      // is set first and the waiting thread makes the call's next step.
      auto& pending = wait.tagged_call();
      pending.waker = &wait;
      wait.mark_sent_tagged();
      const rpc::CallKeys keys{call.options.traceparent, call.options.request_id};
      call.connection.connection().send_tagged(pending, call.procedure, call.payload, call.deadline, keys);
      return wait.done_handing();
    }
    if (next == Step::exchange) {
      Reply failure;
      auto& connection = call.connection.connection();
      if (connection.send_request(call.procedure, call.payload, call.deadline, failure)) {
        return wait.answer_on(connection.native_handle());
      }
      next = flow.exchanged(call, failure, false, Clock::now());
    }
    wait.go_on(next);
  });
  Permit none;
  if (!waiter) return flow.permit_waited(call, ConcurrencyLimiter::Outcome::queue_full, none);
  auto state = wait.sleep_until(call.deadline);
  if (state == HandedWait::pending) {
    if (call.system->limiter.cancel(waiter)) return flow.permit_waited(call, ConcurrencyLimiter::Outcome::timed_out, none);
    // Granted as the deadline passed: the granter is handing over.
    while ((state = wait.sleep_until(Clock::now() + std::chrono::milliseconds(10))) == HandedWait::pending) {
    }
  }
  if (state == HandedWait::sent_tagged) {
    wait.wait_for_granter();  // its send_tagged may still be running
    return Step::answer;
  }
  return state == HandedWait::sent ? Step::answer : wait.step();
}

// The answer to the request the granter sent for this thread.
Step RouterCore::receive_handed_answer(Call<rpc::BlockingConnection>& call, CallFlow<BlockingPools>& flow) {
  auto& connection = call.connection.connection();
  Reply reply;
  bool answered;
  if (connection.tagged()) {
    auto& pending = HandedWait::mine().tagged_call();
    answered = connection.receive_tagged(pending, call.deadline);
    reply = std::move(pending.reply);
  } else {
    answered = connection.receive_answer(call.deadline, reply);
  }
  return flow.exchanged(call, reply, answered, Clock::now());
}

// Discovery runs on the loops: a system's first call waits for it there.
std::optional<Reply> RouterCore::learn_backends_on_a_worker(const std::shared_ptr<System>& system,
                                                            Clock::time_point deadline) {
  auto learning = asio::co_spawn(next_worker().executor, learn_first_set(system, deadline), asio::use_future);
  try {
    return learning.get();
  } catch (const std::exception& e) {
    return Reply::error(Status::internal, std::string("internal error in discovery: ") + e.what());
  }
}

}  // namespace routing::core
