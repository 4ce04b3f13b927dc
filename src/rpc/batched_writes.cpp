#include "rpc/batched_writes.h"

#include <boost/asio/detail/scheduler.hpp>

#if BOOST_ASIO_VERSION == 102600
#define ROUTING_INSPECT_SCHEDULER 1
#else
#define ROUTING_INSPECT_SCHEDULER 0
#endif

namespace routing::rpc {

namespace ad = boost::asio::detail;

namespace {

#if ROUTING_INSPECT_SCHEDULER
// The scheduler's queue of ready handlers and its lock are private; an
// explicit instantiation may name private members, which is how these
// accessors get pointers to them (as in drained_read.cpp). The version check
// above keeps this to the Asio whose layout was checked.
template <class Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member(Tag) { return Member; }
};
struct ReadyQueue {
  using type = ad::op_queue<ad::scheduler_operation> ad::scheduler::*;
  friend type member(ReadyQueue);
};
struct OperationFunction {  // null only in the scheduler's marker for its epoll wait
  using type = void (*ad::scheduler_operation::*)(void*, ad::scheduler_operation*, const boost::system::error_code&,
                                                  std::size_t);
  friend type member(OperationFunction);
};
struct QueueLock {
  using type = ad::conditionally_enabled_mutex ad::scheduler::*;
  friend type member(QueueLock);
};
template struct Expose<ReadyQueue, &ad::scheduler::op_queue_>;
template struct Expose<QueueLock, &ad::scheduler::mutex_>;
template struct Expose<OperationFunction, &ad::scheduler_operation::func_>;
#endif

}  // namespace

// The handler that sends a turn's waiting writes: an operation of our own,
// one per loop and queued at most once (no allocation, nothing to recycle).
struct BatchedWrites::FlushOperation : ad::scheduler_operation {
  BatchedWrites* batch;
  explicit FlushOperation(BatchedWrites* owner) : ad::scheduler_operation(&complete), batch(owner) {}
  static void complete(void* scheduler, ad::scheduler_operation* base, const boost::system::error_code&,
                       std::size_t) {
    if (scheduler == nullptr) return;  // the loop is being destroyed: nothing to free
    auto* batch = static_cast<FlushOperation*>(base)->batch;
    batch->posted_ = false;
    batch->run_due();
  }
};

asio::execution_context::id BatchedWrites::id;

BatchedWrites::BatchedWrites(asio::execution_context& context)
    : asio::execution_context::service(context), flush_(std::make_unique<FlushOperation>(this)) {}

BatchedWrites::~BatchedWrites() = default;

void BatchedWrites::enable(asio::io_context& loop) {
  auto& batch = asio::use_service<BatchedWrites>(loop);
  batch.loop_ = &loop;
  batch.scheduler_ = &asio::use_service<ad::scheduler>(loop);
}

BatchedWrites* BatchedWrites::of(const asio::any_io_executor& executor) {
  auto& context = asio::query(executor, asio::execution::context);
  if (!asio::has_service<BatchedWrites>(context)) return nullptr;
  return &asio::use_service<BatchedWrites>(context);
}

// While a handler runs on a one-thread loop, the scheduler's queue holds the
// handlers still ready in this turn, then the marker of its next epoll wait
// (the one operation without a function), then what was posted since. Any
// operation but the marker is more work. Handlers posted by the running one
// wait in a per-thread queue until it returns, and run after that epoll wait
// anyway.
bool BatchedWrites::more_ready_work() const {
#if ROUTING_INSPECT_SCHEDULER
  auto& queue = scheduler_->*member(ReadyQueue{});
  // The front without the lock: while the marker is queued (always, while a
  // handler of a loop with a reactor runs), other threads only append behind
  // it, and only this thread removes from the front.
  ad::scheduler_operation* front = ad::op_queue_access::front(queue);
  if (front != nullptr && front->*member(OperationFunction{}) != nullptr) return true;
  // Behind the marker other threads may be appending: look under the lock.
  ad::conditionally_enabled_mutex::scoped_lock lock(scheduler_->*member(QueueLock{}));
  for (ad::scheduler_operation* op = ad::op_queue_access::front(queue); op != nullptr;
       op = ad::op_queue_access::next(op)) {
    if (op->*member(OperationFunction{}) != nullptr) return true;
  }
  return false;
#else
  return true;  // cannot tell: always batch
#endif
}

void BatchedWrites::write_soon(Write write, WriteKind kind) {
  // From inside a waiting write (the turn's end already), or from another
  // thread: at once.
  if (flushing_ || !loop_->get_executor().running_in_this_thread()) return write();
  // Once one write waits, the flush is queued: no need to look again. (No
  // write waits while none is queued.)
  if (!posted_ && !more_ready_work()) return write();
  due_[static_cast<int>(kind)].push_back(std::move(write));
  if (posted_) return;
  posted_ = true;
  scheduler_->post_immediate_completion(flush_.get(), false);
}

// The turn's answers first, then its requests (batched_writes.h says why).
void BatchedWrites::run_due() {
  run_due(due_[static_cast<int>(WriteKind::answer)]);
  run_due(due_[static_cast<int>(WriteKind::request)]);
}

// Writes of a kind run in the order they were deferred.
void BatchedWrites::run_due(std::vector<Write>& due) {
  if (due.empty()) return;
  running_.swap(due);
  struct Clear {
    BatchedWrites& batch;
    ~Clear() {  // also if a write throws: none runs twice
      batch.running_.clear();
      batch.flushing_ = false;
    }
  } clear{*this};
  flushing_ = true;
  for (auto& write : running_) write();
}

// The loop is going away: pending writes are dropped unrun, as posted
// handlers would be (their destructors release what they hold).
void BatchedWrites::shutdown() {
  for (auto& due : due_) {
    auto dropped = std::move(due);
    due.clear();
  }
  running_.clear();
}

}  // namespace routing::rpc
