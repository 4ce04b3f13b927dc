// The blocking adapter of the call flow (call_flow.h), for Router::call: the
// whole call runs on the caller's own thread with blocking sockets from the
// blocking pool, so a call costs about what a direct call costs. A call that
// finds every slot taken sleeps here in the limiter's FIFO queue (no hop to
// a loop and back); only a system's first discovery runs on a worker.
#include "routing/call/call_flow.h"
#include "routing/call/pools.h"
#include "routing/router_core.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

namespace routing::core {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

CallOutcome RouterCore::call_blocking(std::string_view system, std::uint32_t procedure, std::string_view payload,
                                      const CallOptions& options) {
  const auto arrival = Clock::now();
  if (auto refused = refuse_call(system)) return std::move(*refused);
  Call<rpc::BlockingConnection> call;
  call.system = systems_.find_or_create_cached(system);
  call.system->touch(arrival);
  call.procedure = procedure;
  call.payload = payload;
  call.options = options;
  call.arrival = arrival;
  call.deadline = call_deadline(arrival, options, options_);

  BlockingPools pools{pools_};
  CallFlow flow(pools, options_);
  for (Step step = flow.start(call);;) {
    switch (step) {
      case Step::learn_backends:
        step = flow.backends_learned(call, learn_backends_on_a_worker(call.system, call.deadline));
        break;
      case Step::wait_for_permit: {
        Permit permit;
        auto waited = call.system->limiter.acquire_blocking(call.deadline, permit);
        step = flow.permit_waited(call, waited, permit);
        break;
      }
      case Step::connect: {
        auto limit = flow.connect_limit(call, Clock::now());
        std::string error = call.backend->endpoint ? "no time left" : "host not found";
        std::shared_ptr<rpc::BlockingConnection> fresh;
        if (call.backend->endpoint && limit > Clock::duration::zero()) {
          fresh = rpc::BlockingConnection::connect(*call.backend->endpoint, limit, options_.max_frame_bytes, error);
        }
        step = flow.connected(call, std::move(fresh), error, limit);
        break;
      }
      case Step::exchange: {
        Reply reply;
        bool answered = call.connection.connection().exchange(call.procedure, call.payload, call.deadline, reply);
        step = flow.exchanged(call, reply, answered, Clock::now());
        break;
      }
      case Step::finished:
        return std::move(call.outcome);
    }
  }
}

// Discovery runs on the loops: a system's first call waits for it there.
std::optional<Reply> RouterCore::learn_backends_on_a_worker(const std::shared_ptr<System>& system,
                                                            Clock::time_point deadline) {
  auto learning = asio::co_spawn(next_worker().executor, system->ensure_ready(*discovery_, deadline), asio::use_future);
  try {
    return learning.get();
  } catch (const std::exception& e) {
    return Reply::error(Status::internal, std::string("internal error in discovery: ") + e.what());
  }
}

}  // namespace routing::core
