#include "rpc/deferred_reads.h"

namespace routing::rpc {

asio::execution_context::id DeferredReads::id;

DeferredReads::DeferredReads(asio::execution_context& context) : asio::execution_context::service(context) {}

void DeferredReads::enable(asio::io_context& loop) {
  asio::use_service<DeferredReads>(loop).loop_ = &loop;
}

DeferredReads* DeferredReads::of(const asio::any_io_executor& executor) {
  auto& context = asio::query(executor, asio::execution::context);
  if (!asio::has_service<DeferredReads>(context)) return nullptr;
  return &asio::use_service<DeferredReads>(context);
}

void DeferredReads::defer(Start start) {
  due_.push_back(std::move(start));
  if (posted_) return;
  posted_ = true;
  asio::post(*loop_, [this] { run_due(); });
}

// Starts taken in this turn run in the order they came; any deferred while
// these run wait for the next turn (a post of their own).
void DeferredReads::run_due() {
  posted_ = false;
  running_.swap(due_);
  struct Clear {
    std::vector<Start>& starts;
    ~Clear() { starts.clear(); }  // also if a start throws: none runs twice
  } clear{running_};
  for (auto& start : running_) start();
}

// The loop is going away: the pending starts are dropped unrun, as posted
// handlers would be (their destructors release what they hold).
void DeferredReads::shutdown() {
  auto dropped = std::move(due_);
  due_.clear();
  running_.clear();
}

}  // namespace routing::rpc
