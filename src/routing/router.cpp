// routing::Router: the router core on event loops of its own.
#include <routing/router.h>

#include "routing/router_core.h"
#include "rpc/loop_thread.h"
#include <atomic>
#include <cstdlib>


namespace routing {
namespace asio = boost::asio;

// The router's workers: a thin wrapper over rpc::LoopThread.
struct Router::Threads {
  std::vector<std::unique_ptr<rpc::LoopThread>> loops;

  explicit Threads(unsigned count) {
    for (unsigned i = 0; i < std::max(1u, count); ++i) {
      loops.push_back(std::make_unique<rpc::LoopThread>(rpc::LoopOptions{.worker = true}));
    }
  }
  // Lets every loop run out of work (the router stopped its own), forcing
  // loops that are still busy after `grace`. The contexts stay alive.
  void finish(std::chrono::milliseconds grace) {
    for (auto& loop : loops) loop->release();  // all wind down at once
    auto deadline = std::chrono::steady_clock::now() + grace;
    for (auto& loop : loops) loop->finish_by(deadline);
  }
  ~Threads() { finish(std::chrono::milliseconds(0)); }
  std::vector<asio::any_io_executor> executors() const {
    std::vector<asio::any_io_executor> out;
    for (const auto& loop : loops) out.push_back(loop->executor());
    return out;
  }
};

Router::Router(RouterOptions options) : threads_(std::make_unique<Threads>(options.threads)) {
  core_ = std::make_unique<core::RouterCore>(std::move(options), threads_->executors());
  core_->start();
}

Router::~Router() {
  core_->stop();  // cancels the router's own work on its loops
  threads_->finish(std::chrono::seconds(2));
  // The core's timers and sockets belong to the loops' contexts: they go
  // first, while those contexts still exist.
  core_.reset();
  threads_.reset();
}

Reply Router::call(std::string_view system, std::uint32_t procedure, std::string_view payload,
                   const CallOptions& options) {
  if (core_->on_worker_thread()) {
    return Reply::error(Status::internal, "blocking Router::call from a router thread would deadlock; use async_call");
  }
  return core_->call_blocking(system, procedure, payload, options).reply;
}

asio::awaitable<Reply> Router::async_call(std::string system, std::uint32_t procedure, std::string payload,
                                          CallOptions options) {
  auto outcome = co_await core_->call(std::move(system), procedure, std::move(payload), options);
  co_return std::move(outcome.reply);
}

bool Router::set_strategy(std::string_view strategy, std::optional<std::string> system) {
  return core_->set_strategy(strategy, std::move(system));
}

Router::Drain Router::set_drained(std::string_view system, std::string_view address, bool drained) {
  auto result = core_->set_drained(system, address, drained);
  if (!result) return Drain::too_many;
  switch (*result) {
    case core::System::DrainResult::listed: return Drain::listed;
    case core::System::DrainResult::not_listed: return Drain::not_listed;
    case core::System::DrainResult::too_many: return Drain::too_many;
  }
  return Drain::too_many;
}

RouterStats Router::stats() const { return core_->stats(); }

}  // namespace routing
