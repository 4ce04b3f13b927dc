#include "policy/policy_gate.h"

#include "rpc/address.h"

namespace routing::policy {

PolicyGate::PolicyGate() : log_("call(s) refused by the policy", std::chrono::seconds(1)) {}

void PolicyGate::set(std::shared_ptr<const Policy> policy) {
  on_.store(policy != nullptr);
  policy_.store(std::move(policy));
}

bool PolicyGate::replace(std::shared_ptr<const Policy> fresh) {
  auto current = policy_.load();
  const bool same = current && fresh ? current->text() == fresh->text() : current == fresh;
  if (same) return false;
  set(std::move(fresh));
  return true;
}

namespace {

std::string quoted_identity(std::string_view identity) {
  return identity.empty() ? std::string("a caller without a client certificate") : "'" + std::string(identity) + "'";
}

}  // namespace

std::optional<std::string> PolicyGate::refuse_use(const rpc::ConnectionContext& connection, std::string_view verb,
                                                  std::string_view name) {
  if (!on_.load(std::memory_order_relaxed)) return std::nullopt;
  auto policy = policy_.load();
  const std::string& identity = connection.identity;
  if (!policy || policy->may_use(identity, name)) return std::nullopt;
  return refuse(connection,
                "permission denied: " + quoted_identity(identity) + " may not " + std::string(verb) + " '" +
                    std::string(name) + "'");
}

std::optional<std::string> PolicyGate::refuse_admin(const rpc::ConnectionContext& connection, std::string_view what) {
  if (!on_.load(std::memory_order_relaxed)) return std::nullopt;
  auto policy = policy_.load();
  const std::string& identity = connection.identity;
  if (!policy || policy->may_admin(identity)) return std::nullopt;
  return refuse(connection,
                "permission denied: " + quoted_identity(identity) + " may not call " + std::string(what) +
                    " (the policy gives it no admin = true)");
}

std::string PolicyGate::refuse(const rpc::ConnectionContext& connection, std::string message) {
  log_.note(message + " (from " + rpc::format_host_port(connection.peer) + ")");
  std::string label = connection.identity.empty() ? "_none" : connection.identity;
  std::lock_guard lock(denials_mutex_);
  if (!denials_.contains(label) && denials_.size() >= max_reported_identities) label = "_other";
  ++denials_[label];
  return message;
}

std::map<std::string, std::uint64_t> PolicyGate::denials() const {
  std::lock_guard lock(denials_mutex_);
  return denials_;
}

}  // namespace routing::policy
