#pragma once
// --policy FILE on routerd and discoveryd (CONTRACT §9, docs/security.md):
// the flag, and reading the file at start and on each SIGHUP.
#include "policy/policy.h"
#include "rpc/server_options.h"

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

namespace routing::app {

void add_policy_flag(CLI::App& app, std::string& file);

// The policy `file` holds (null when `file` is empty: no policy), read
// again each time. The error when it does not parse, or when the listener
// cannot give callers an identity (a policy needs --tls-client-ca: without
// client certificates it would refuse every call it governs).
struct LoadedPolicy {
  std::shared_ptr<const policy::Policy> policy;
  std::optional<std::string> error;
};
LoadedPolicy load_policy_flag(const std::string& file, const rpc::ServerOptions& server);

}  // namespace routing::app
