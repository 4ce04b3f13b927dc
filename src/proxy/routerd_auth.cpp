// routerd's authentication (docs/operations.md): AUTHENTICATE (4) and the
// check every other procedure but ping makes, with the limits on guessing
// (auth_throttle.h). A connection's state: AuthState in its context.
#include "proxy/routerd_service.h"

#include "common/json_args.h"
#include "proxy/route_answer.h"

namespace routing::proxy {
namespace asio = boost::asio;
using Clock = std::chrono::steady_clock;

namespace {

struct AuthState {
  bool authenticated = false;
  unsigned failures = 0;  // failed AUTHENTICATE calls on this connection
};

AuthState& auth_state(rpc::CallContext& call) {
  if (auto* state = std::any_cast<AuthState>(&call.connection.state)) return *state;
  return call.connection.state.emplace<AuthState>();
}

// Compares without leaking, through timing, how much of a guess was right.
bool same_secret(std::string_view a, std::string_view b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0;
}

}  // namespace

void RouterdService::set_auth_token(std::string token) {
  std::lock_guard lock(auth_token_mutex_);
  auth_token_ = std::move(token);
  auth_on_ = !auth_token_.empty();
}

std::string RouterdService::auth_token() const {
  std::lock_guard lock(auth_token_mutex_);
  return auth_token_;
}

std::optional<Reply> RouterdService::refuse_unauthenticated(rpc::CallContext& call) {
  if (!auth_on_.load(std::memory_order_relaxed)) return std::nullopt;
  if (auto* state = std::any_cast<AuthState>(&call.connection.state); state && state->authenticated) return std::nullopt;
  auth_failures_.fetch_add(1, std::memory_order_relaxed);
  return Reply::error(Status::unauthenticated, "authenticate first: procedure 4 with {\"token\":\"...\"}");
}

asio::awaitable<Reply> RouterdService::authenticate(std::string payload, rpc::CallContext& call) {
  const auto now = Clock::now();
  const auto source = call.connection.peer.address();
  const std::string expected = auth_token();  // a reload may change it meanwhile: one version per attempt
  if (!expected.empty()) {
    // Checked before the token is even read: while throttled, no guess is tried.
    if (auto wait = auth_throttle_.wait_before_attempt(source, now); wait > Clock::duration::zero()) {
      auth_throttled_.fetch_add(1, std::memory_order_relaxed);
      auto ms = std::chrono::ceil<std::chrono::milliseconds>(wait).count();
      co_return refuse_attempt(call, Status::resource_exhausted,
                               "too many failed authentications from this address; retry in " +
                                   std::to_string(ms) + " ms");
    }
  }
  common::JsonArgs args(payload);
  std::string token = args.required_string("token");
  if (!args.ok()) co_return router_error(Status::invalid_argument, args.error());
  if (!expected.empty() && !same_secret(token, expected)) {
    auth_failures_.fetch_add(1, std::memory_order_relaxed);
    auth_throttle_.record_failure(source, now);
    co_return refuse_attempt(call, Status::unauthenticated, "invalid token");
  }
  // With no token there is nothing to prove: the connection is not marked,
  // so that a reload turning authentication on finds it unauthenticated.
  if (!expected.empty()) auth_state(call).authenticated = true;
  co_return Reply::success("{}");
}

Reply RouterdService::refuse_attempt(rpc::CallContext& call, Status status, std::string_view message) {
  AuthState& state = auth_state(call);
  state.authenticated = false;
  if (auth_throttle_.connection_spent(++state.failures)) {
    call.connection.close_after_answer = true;
    auth_connections_closed_.fetch_add(1, std::memory_order_relaxed);
  }
  return router_error(status, message);
}

}  // namespace routing::proxy
