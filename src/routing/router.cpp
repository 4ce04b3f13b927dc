// routing::Router: the router core on event loops of its own.
#include <routing/router.h>

#include "routing/router_core.h"
#include "rpc/loop_thread.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

namespace routing {
namespace asio = boost::asio;

// The router's workers: a thin wrapper over rpc::LoopThread.
struct Router::Threads {
  std::vector<std::unique_ptr<rpc::LoopThread>> loops;
  std::atomic<std::size_t> next{0};  // blocking calls are dealt round-robin

  asio::io_context& pick() { return loops[next.fetch_add(1, std::memory_order_relaxed) % loops.size()]->context(); }

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
  if (core_->on_shard_thread()) {
    return Reply::error(Status::internal, "blocking Router::call from a router thread would deadlock; use async_call");
  }
  // Usually the whole call runs on this thread. A system's first call learns
  // its backends on a loop first (so sequential callers use one connection);
  // a call that finds every slot taken waits in line on a loop.
  if (auto outcome = core_->try_call_blocking(system, procedure, payload, options)) return std::move(outcome->reply);
  CallOptions rest = options;
  if (!core_->knows_backends_of(system)) {
    using namespace std::chrono;
    auto deadline = steady_clock::now() + options.timeout.value_or(core_->options().request_timeout);
    auto failure = asio::co_spawn(threads_->pick(), core_->learn_backends(std::string(system), deadline),
                                  asio::use_future).get();
    if (failure) return std::move(*failure);
    // The rest of the call gets what is left of its time.
    rest.timeout = std::max(milliseconds(1), duration_cast<milliseconds>(deadline - steady_clock::now()));
    if (auto outcome = core_->try_call_blocking(system, procedure, payload, rest)) return std::move(outcome->reply);
  }
  auto future = asio::co_spawn(threads_->pick(),
                               core_->call(std::string(system), procedure, std::string(payload), rest),
                               asio::use_future);
  return future.get().reply;
}

asio::awaitable<Reply> Router::async_call(std::string system, std::uint32_t procedure, std::string payload,
                                          CallOptions options) {
  auto outcome = co_await core_->call(std::move(system), procedure, std::move(payload), options);
  co_return std::move(outcome.reply);
}

bool Router::set_strategy(std::string_view strategy, std::optional<std::string> system) {
  return core_->set_strategy(strategy, std::move(system));
}

RouterStats Router::stats() const { return core_->stats(); }

}  // namespace routing
