#pragma once
// How one attempt of a call ended, and whether the call may try another
// backend: the one classification and the one resending rule (CONTRACT
// section 3), for both connection types.
//
//   not_sent           connecting failed (refused, unreachable, timed out
//                      before the deadline): certainly not processed.
//   failed_after_send  the connection failed once writing the request had
//                      begun, including a send() that failed: the request may
//                      have been processed (the safe reading; a pooled
//                      connection found closed before writing is never an
//                      attempt: the pool drops it and the call takes another).
//   deadline           the call's deadline passed (connecting or exchanging).
//   answered           the backend answered, whatever its status.
#include "routing/backend.h"

#include <routing/reply.h>
#include <routing/router.h>

#include <array>
#include <chrono>
#include <optional>
#include <span>
#include <string_view>

namespace routing::core {

class System;
struct BackendList;

enum class AttemptEnd { answered, not_sent, failed_after_send, deadline };

struct Attempt {
  AttemptEnd end;
  Reply reply;
};

// After the exchange: `answered` when the backend's answer arrived (whatever
// its status), else `status` is the connection's (4 at the deadline). A
// backend's own 4 that arrives once the call's deadline has passed is the
// call's deadline too: the backend gave up at the deadline-ms it was sent
// (rounded up, so never before ours), and whether its answer or our timer
// comes first is a race the caller must not see.
inline AttemptEnd exchange_ended(bool answered, Status status, bool deadline_passed) {
  if (answered && !(status == Status::deadline_exceeded && deadline_passed)) return AttemptEnd::answered;
  return status == Status::deadline_exceeded ? AttemptEnd::deadline : AttemptEnd::failed_after_send;
}
// The router's answer for an exchange that ended `end` (not answered);
// `failure`: the connection's own account.
Reply exchange_failure(const Backend& backend, AttemptEnd end, const Reply& failure);
// After a failed connect that was given `limit` (`error`: why it failed).
// Counted in the backend's connect figures (`timed_out`: it ran out of `limit`).
Attempt connect_failed(Backend& backend, std::string_view error, std::chrono::steady_clock::duration limit,
                       bool deadline_passed, bool timed_out);

// The backends one call has tried, and whether it may try another.
struct Tries {
  std::array<Backend*, 8> tried{};
  std::size_t count = 0;
  bool resent = false;  // an idempotent call resent after failed_after_send
  std::optional<Reply> last_failure;

  std::span<Backend* const> excluded() const { return {tried.data(), count}; }
  // As new, for the next call (cheaper than assigning Tries{}).
  void reset() {
    count = 0;
    resent = false;
    last_failure.reset();
  }
  // The answer when no backend is left to try.
  Reply no_backend_left(const System& system, const BackendList& list);
  // Records the failure on `backend`; true when another backend may be
  // tried: what was not sent, or once what the caller declared idempotent,
  // before the deadline and within the retry budget.
  bool try_another(System& system, Backend& backend, Attempt& failed, const CallOptions& options,
                   std::chrono::steady_clock::time_point deadline);
};

}  // namespace routing::core
