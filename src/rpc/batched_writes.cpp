#include "rpc/batched_writes.h"

#include <boost/asio/detail/scheduler.hpp>

namespace routing::rpc {

namespace ad = boost::asio::detail;

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

bool BatchedWrites::more_ready_work() const { return asio_internals::more_ready_handlers(*scheduler_); }

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
