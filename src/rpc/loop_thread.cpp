#include "rpc/loop_thread.h"

#include "common/log.h"
#include "rpc/batched_writes.h"

namespace routing::rpc {

namespace {

int concurrency_hint(const LoopOptions& options) { return options.worker ? single_thread_loop : 1; }

}  // namespace

LoopThread::LoopThread(LoopOptions options) : loop_(concurrency_hint(options)) {
  if (options.worker) BatchedWrites::enable(loop_);
  thread_ = std::thread([this, options] { run(options); });
}

LoopThread::~LoopThread() { stop(); }

void LoopThread::run(LoopOptions options) {
  if (!options.log_failure) {
    loop_.run();
    return;
  }
  try {
    loop_.run();
  } catch (const std::exception& e) {
    common::log().critical("{}loop failed: {}", options.worker ? "worker " : "", e.what());
  }
}

void LoopThread::release() { keep_running_.reset(); }

void LoopThread::stop() {
  loop_.stop();
  join();
}

void LoopThread::join() {
  if (thread_.joinable()) thread_.join();
}

// Polled: io_context can say that it ran out of work, not wait for it.
bool LoopThread::finish_by(std::chrono::steady_clock::time_point deadline) {
  release();
  while (!loop_.stopped() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  bool ran_out = loop_.stopped();
  stop();
  return ran_out;
}

}  // namespace routing::rpc
