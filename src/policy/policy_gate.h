#pragma once
// Where a server asks its policy (policy.h) and what a refusal costs: the
// one place routerd and discoveryd enforce `--policy`. The policy in force
// can be replaced at any time (SIGHUP) while calls check it; refusals are
// counted per identity (a bounded set of labels for /metrics) and logged at
// most one line a second.
#include "common/shared_snapshot.h"
#include "common/throttled_log.h"
#include "policy/policy.h"
#include "rpc/server.h"

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace routing::policy {

class PolicyGate {
 public:
  // Identities counted by name before the rest go under "_other"; callers
  // without an identity are counted as "_none".
  static constexpr std::size_t max_reported_identities = 100;

  PolicyGate();

  // The policy from now on; null: none, everyone may do everything (as
  // without --policy).
  void set(std::shared_ptr<const Policy> policy);
  // A reload's set(): true when it changed anything (a policy added or
  // removed, or its file's text changed).
  bool replace(std::shared_ptr<const Policy> fresh);
  std::shared_ptr<const Policy> current() const { return policy_.load(); }

  // nullopt when the caller on `connection` (its identity) may use `name`
  // (`verb`: "route to", "register"); else why not, counted and logged.
  std::optional<std::string> refuse_use(const rpc::ConnectionContext& connection, std::string_view verb,
                                        std::string_view name);
  // nullopt when the caller may change the router (`what`: the procedure).
  std::optional<std::string> refuse_admin(const rpc::ConnectionContext& connection, std::string_view what);

  // Refusals so far by identity label.
  std::map<std::string, std::uint64_t> denials() const;

 private:
  std::string refuse(const rpc::ConnectionContext& connection, std::string message);

  std::atomic<bool> on_{false};  // a policy is set: the usual call without one takes no lock
  common::SharedSnapshot<const Policy> policy_;
  common::ThrottledLog log_;
  mutable std::mutex denials_mutex_;
  std::map<std::string, std::uint64_t> denials_;
};

}  // namespace routing::policy
