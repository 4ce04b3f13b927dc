// routing::Router: the router core on event loops of its own.
#include <routing/router.h>

#include "routing/router_core.h"
#include "rpc/batched_writes.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>

#include <thread>

namespace routing {
namespace asio = boost::asio;

struct Router::Threads {
  struct Loop {
    asio::io_context ctx{rpc::single_thread_loop};
    asio::executor_work_guard<asio::io_context::executor_type> guard{ctx.get_executor()};
    std::thread thread;
  };
  std::vector<std::unique_ptr<Loop>> loops;
  std::atomic<std::size_t> next{0};  // blocking calls are dealt round-robin

  asio::io_context& pick() { return loops[next.fetch_add(1, std::memory_order_relaxed) % loops.size()]->ctx; }

  explicit Threads(unsigned count) {
    for (unsigned i = 0; i < std::max(1u, count); ++i) {
      auto loop = std::make_unique<Loop>();
      rpc::BatchedWrites::enable(loop->ctx);
      loop->thread = std::thread([ctx = &loop->ctx] { ctx->run(); });
      loops.push_back(std::move(loop));
    }
  }
  // Lets every loop run out of work (the router stopped its own), forcing
  // loops that are still busy after `grace`. The contexts stay alive.
  void finish(std::chrono::milliseconds grace) {
    for (auto& loop : loops) loop->guard.reset();
    auto deadline = std::chrono::steady_clock::now() + grace;
    for (auto& loop : loops) {
      while (!loop->ctx.stopped() && std::chrono::steady_clock::now() < deadline) {
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
      loop->ctx.stop();
      if (loop->thread.joinable()) loop->thread.join();
    }
  }
  ~Threads() { finish(std::chrono::milliseconds(0)); }
  std::vector<asio::any_io_executor> executors() const {
    std::vector<asio::any_io_executor> out;
    for (const auto& loop : loops) out.push_back(loop->ctx.get_executor());
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

RouterStats Router::stats() const { return core_->stats(); }

}  // namespace routing
