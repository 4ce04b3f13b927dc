#pragma once
// What every accept loop of the project does when accept() fails: pause
// before trying again. The usual failure is EMFILE/ENFILE (out of
// descriptors); the pending connection stays in the backlog, so the listener
// stays readable and a loop that retries at once spins at 100% CPU without
// accepting anything (issue 20, finding 6). Pauses start at 50 ms and double
// up to 1 s (jittered, common::Backoff); one success resets them. The failure
// is logged once per streak, and the end of a streak with its count.
// Shared by the line-protocol server and the admin HTTP listener: one
// behaviour, one piece of code.
#include "rpc/asio_fwd.h"

#include "common/backoff.h"

#include <boost/asio/any_io_executor.hpp>

#include <atomic>
#include <cstdint>
#include <string>

namespace routing::rpc {

class AcceptBackoff {
 public:
  // `listener` names the listener in log lines ("admin", "main").
  explicit AcceptBackoff(std::string listener);

  // After a failed accept: log (once per streak) and sleep on `executor`.
  asio::awaitable<void> pause_after(error_code ec, asio::any_io_executor executor);
  // After a successful accept: pauses start small again.
  void succeeded();

  // Failed accepts so far (readable from any thread, for metrics).
  std::uint64_t errors() const noexcept { return errors_.load(std::memory_order_relaxed); }

  static constexpr auto first_pause = std::chrono::milliseconds(50);
  static constexpr auto longest_pause = std::chrono::seconds(1);

 private:
  std::string listener_;
  common::Backoff backoff_{first_pause, longest_pause};
  std::uint64_t streak_ = 0;  // failures since the last success
  std::atomic<std::uint64_t> errors_{0};
};

}  // namespace routing::rpc
