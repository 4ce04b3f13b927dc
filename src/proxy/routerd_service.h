#pragma once
// routerd's procedures (CONTRACT §3) on top of the router core: ROUTE,
// SET_STRATEGY, STATUS, AUTHENTICATE (4) when a token is configured, DRAIN
// (5) and UNDRAIN (6) (CONTRACT §11),
// with the proxy's cross-cutting duties: authentication, the policy, rate
// limiting and the access log. Calls run on the server worker that received them, which
// is also a router worker: no thread hop.
#include "policy/policy_gate.h"
#include "proxy/access_log.h"
#include "proxy/auth_throttle.h"
#include "proxy/proxy_options.h"
#include "proxy/rate_limiter.h"
#include "proxy/stats_output.h"
#include "routing/router_core.h"
#include "rpc/server.h"

namespace routing::proxy {

class RouterdService {
 public:
  explicit RouterdService(ProxyOptions options);

  void register_procedures(rpc::Server& server);
  // The router runs on the server's loops, so it exists only once the server
  // started; until then calls answer 14.
  void attach(core::RouterCore& core) { core_ = &core; }
  ProxyStats proxy_stats(const rpc::Server& server) const;
  void set_draining() { draining_ = true; }
  // A reload: calls per second per system, and the burst, from now on.
  void set_rate_limits(double rate, double burst) { rate_limiter_.set_limits(rate, burst); }
  // A reload: the token AUTHENTICATE checks from now on (empty: none needed).
  // Connections that authenticated before stay authenticated.
  void set_auth_token(std::string token);
  // --policy (CONTRACT §9): who may ROUTE to which systems and call
  // SET_STRATEGY; set at start and by a reload.
  policy::PolicyGate& policy() { return policy_; }
  // The access log: SIGUSR1's reopen, a reload's other file (access_log.h).
  AccessLog& access_log() { return access_log_; }
  bool draining() const { return draining_; }

 private:
  // A callback handler: the usual call never makes a coroutine frame.
  void route(std::string_view payload, rpc::CallContext& call, rpc::Responder responder);
  static void pass_on_call_keys(const rpc::CallContext& call, CallOptions& options);
  bool apply_caller_deadline(const rpc::CallContext& call, CallOptions& options,
                             std::chrono::steady_clock::time_point start) const;
  // The answer to the client, and the access log's line.
  void finish_route(rpc::Responder& responder, const core::CallOutcome& outcome, const rpc::CallContext& call,
                    std::string_view system, std::uint32_t procedure, std::chrono::steady_clock::time_point start,
                    std::size_t request_bytes, bool book);
  void set_strategy(std::string_view payload, rpc::CallContext& call, rpc::Responder responder);
  boost::asio::awaitable<Reply> status(std::string payload, rpc::CallContext& call);
  // DRAIN and UNDRAIN of one backend (routerd_drain.cpp).
  boost::asio::awaitable<Reply> drain(std::string payload, rpc::CallContext& call);
  boost::asio::awaitable<Reply> undrain(std::string payload, rpc::CallContext& call);
  Reply set_drained(std::string_view payload, rpc::CallContext& call, bool drained);
  // Authentication (routerd_auth.cpp).
  boost::asio::awaitable<Reply> authenticate(std::string payload, rpc::CallContext& call);
  std::string auth_token() const;
  // nullopt when the connection may call; else the 16 (status and message).
  std::optional<Reply> refuse_unauthenticated(rpc::CallContext& call);
  // A failed AUTHENTICATE's answer; closes the connection after it once the
  // connection has failed too often.
  Reply refuse_attempt(rpc::CallContext& call, Status status, std::string_view message);

  void count_rate_limited(const std::string& name);
  // nullopt when the router is attached, else the 14 (status and message).
  std::optional<Reply> refuse_before_start() const;

  std::atomic<core::RouterCore*> core_{nullptr};
  ProxyOptions options_;
  RateLimiter rate_limiter_;
  AuthThrottle auth_throttle_;
  AccessLog access_log_;
  policy::PolicyGate policy_;
  mutable std::mutex auth_token_mutex_;
  std::string auth_token_;        // under auth_token_mutex_
  std::atomic<bool> auth_on_{false};  // !auth_token_.empty(), read by every call without the lock
  const rpc::Server* server_ = nullptr;
  std::atomic<bool> draining_{false};
  std::atomic<std::uint64_t> auth_failures_{0};
  std::atomic<std::uint64_t> auth_throttled_{0};           // AUTHENTICATE answered 8 unchecked
  std::atomic<std::uint64_t> auth_connections_closed_{0};  // closed after too many failures
  std::atomic<std::uint64_t> answers_base64_to_fit_{0};  // UTF-8 answers sent as base64 to fit a frame
  std::atomic<std::uint64_t> answers_too_large_{0};      // answers that fit no form: 8
  std::atomic<std::uint64_t> request_bytes_{0};
  std::atomic<std::uint64_t> response_bytes_{0};
  mutable std::mutex rate_limited_mutex_;
  std::map<std::string, std::uint64_t> rate_limited_;
};

}  // namespace routing::proxy
