#pragma once
// discoveryd's procedures on top of the Registry: JSON arguments, leases
// expiring on time, and LIST long polls that sleep on a timer (no busy work)
// until their name changes, and end at once when their client hangs up.
// Everything a client can make it hold is bounded (discovery/limits.h).
#include "discovery/limits.h"
#include "discovery/refusal_log.h"
#include "discovery/registry.h"
#include "policy/policy_gate.h"
#include "rpc/server.h"

#include <boost/asio/steady_timer.hpp>

#include <array>
#include <atomic>
#include <functional>
#include <map>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <unordered_set>

namespace routing::discovery {

// What discoveryd's /metrics shows (discovery/discovery_metrics.h): a bounded
// set of numbers, none per name.
struct DiscoveryStats {
  // Answers by procedure (REGISTER, QUERY, LIST, DEREGISTER) and outcome.
  enum Outcome : std::size_t { ok, invalid, not_found, refused, draining, denied, other, outcome_count };
  static constexpr std::size_t procedure_count = 4;
  std::array<std::array<std::uint64_t, outcome_count>, procedure_count> answers{};
  std::size_t names = 0;
  std::size_t instances = 0;
  std::size_t long_polls = 0;  // waiting now
  std::uint64_t leases_expired = 0;
  std::map<std::string, std::uint64_t> policy_denials;  // identity ("_none", "_other") -> refused (7)
  std::size_t policy_rules = 0;                         // 0 without --policy
};

class DiscoveryService {
 public:
  explicit DiscoveryService(DiscoveryLimits limits = {}) : limits_(limits) {}

  // Adds REGISTER, QUERY, LIST and DEREGISTER to `server`.
  void register_procedures(rpc::Server& server);

  // Ends leases on time and wakes the long polls of the names that changed.
  // Runs until stop().
  boost::asio::awaitable<void> run_expiry();

  // Draining starts: every waiting LIST, and every later one, is answered at
  // once with status 14 and its connection closed, so that watchers reconnect
  // (to a successor on the same port); other answers close their connection
  // too; leases stop expiring; run_expiry() ends. Call before stopping the
  // server so that draining does not wait for long polls.
  void stop();

  // The limits in force, and new ones (a reload): they apply to what comes
  // next; what a client already holds beyond a lowered limit stays until
  // it ends (a lease expires, a long poll answers).
  DiscoveryLimits limits() const;
  void set_limits(const DiscoveryLimits& limits);

  // --policy (CONTRACT §9): who may REGISTER and DEREGISTER which names;
  // set at start and by a reload.
  policy::PolicyGate& policy() { return policy_; }

  std::size_t waiting_long_polls() const;
  DiscoveryStats stats() const;  // any thread
  // Requests refused over the limits so far.
  std::uint64_t refusals() const { return refusals_.total(); }

 private:
  struct Waiter {
    boost::asio::any_io_executor executor;
    std::shared_ptr<boost::asio::steady_timer> timer;
  };

  // What discoveryd keeps per client connection (ConnectionContext::state),
  // touched only on that connection's loop.
  struct Client {
    std::uint64_t id = 0;  // owner of the instances it registers (never 0)
    std::size_t long_polls = 0;
  };

  using Procedure = boost::asio::awaitable<Reply> (DiscoveryService::*)(std::string, rpc::CallContext&);
  // Runs `procedure` (index `slot` in DiscoveryStats::answers) and counts its outcome.
  boost::asio::awaitable<Reply> counted(std::size_t slot, Procedure procedure, std::string payload,
                                        rpc::CallContext& context);
  boost::asio::awaitable<Reply> do_register(std::string payload, rpc::CallContext& context);
  boost::asio::awaitable<Reply> do_query(std::string payload, rpc::CallContext& context);
  boost::asio::awaitable<Reply> do_list(std::string payload, rpc::CallContext& context);
  // The answer to a LIST, or nullopt while it should wait (never when
  // `final`: the wait is over). Called with mutex_ held.
  using ListAnswer = std::function<std::optional<std::string>(bool final)>;
  // A LIST of `names` (distinct), long-polling until `answer` has one.
  boost::asio::awaitable<Reply> long_poll(const std::vector<std::string>& names, Clock::time_point deadline,
                                          rpc::CallContext& context, const ListAnswer& answer);
  // The multi-name LIST answer: the sets of `names` changed past `index`
  // (all without), as many as fit max_list_bytes, oldest change first.
  std::optional<std::string> named_sets_answer(const std::vector<std::string>& names,
                                               std::optional<std::int64_t> index, bool final) const;  // mutex_ held
  boost::asio::awaitable<Reply> do_deregister(std::string payload, rpc::CallContext& context);
  Client& client_of(rpc::CallContext& context);
  // Why one more long poll for `client` would pass a limit, if it would.
  std::optional<std::string> long_poll_refusal(const Client& client) const;  // mutex_ held
  Reply refuse(Status status, std::string reason);
  void wake(const std::string& name);  // mutex_ held
  void forget_waiter(const std::vector<std::string>& names, Waiter* waiter);  // mutex_ held
  void wake_all();                     // mutex_ held
  void expire_leases(Clock::time_point now);  // mutex_ held; nothing expires while stopping
  Reply draining_answer(rpc::CallContext& context);

  DiscoveryLimits limits_;  // mutex_ held
  RefusalLog refusals_;
  policy::PolicyGate policy_;
  std::atomic<std::uint64_t> next_client_id_{0};
  mutable std::mutex mutex_;
  Registry registry_;
  std::size_t long_polls_ = 0;  // waiting now, all connections
  std::unordered_map<std::string, std::unordered_set<Waiter*>> waiters_;
  std::shared_ptr<boost::asio::steady_timer> expiry_timer_;
  bool stopping_ = false;
  std::uint64_t leases_expired_ = 0;  // mutex_ held
  std::array<std::array<std::atomic<std::uint64_t>, DiscoveryStats::outcome_count>, DiscoveryStats::procedure_count>
      answers_{};
};

}  // namespace routing::discovery
