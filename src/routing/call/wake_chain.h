#pragma once
// How a worker wakes the blocking callers whose calls it carried
// (RouterCore::call_on_a_worker): not one by one as each call ends, but
// once the handlers already queued on the loop have run (the batch's other
// answers, the next requests), and then only the first of them; each woken
// caller wakes the next before it goes on. So the worker makes one wake-up
// system call per batch instead of one per call, and no woken caller takes
// its CPU in the middle of a batch. Measured (docs/performance.md "Issue 19:
// blocking calls with company"): 16 / 64 callers at the default pool, 0.87x
// / 0.88x direct calls/s waking each at once, 1.02x / 1.19x with the chain.
#include "common/wake_flag.h"
#include "routing/router_core.h"

#include <boost/asio/post.hpp>

#include <vector>

namespace routing::core {

// A blocking caller's call on a worker: its outcome and how it is woken.
// One per calling thread, reused call after call.
struct HandedCall {
  common::WakeFlag finished;
  CallOutcome outcome;
  HandedCall* wake_next = nullptr;  // set by the worker before `finished`

  // By the caller, before handing the call over.
  void reset() {
    finished.reset();
    wake_next = nullptr;
  }
  // By the caller: sleeps until woken, then wakes the next in its chain.
  void wait_and_pass_on() {
    finished.wait();
    if (HandedCall* next = wake_next) next->finished.set();
  }
};

// On the worker's own thread (the one running `loop`), when `call` ended:
// its caller is woken after the handlers queued so far.
inline void wake_after_this_batch(HandedCall& call, const boost::asio::any_io_executor& loop) {
  thread_local std::vector<HandedCall*> due;  // this worker's ended calls, in order
  if (due.empty()) {
    boost::asio::post(loop, [] {
      for (std::size_t i = 0; i + 1 < due.size(); ++i) due[i]->wake_next = due[i + 1];
      due.back()->wake_next = nullptr;
      HandedCall* first = due.front();
      due.clear();
      first->finished.set();
    });
  }
  due.push_back(&call);
}

}  // namespace routing::core
