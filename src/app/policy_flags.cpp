#include "app/policy_flags.h"

namespace routing::app {

void add_policy_flag(CLI::App& app, std::string& file) {
  app.add_option("--policy", file,
                 "TOML file of [[allow]] rules: which client identities may do what (needs --tls-client-ca; "
                 "read again on SIGHUP)")
      ->type_name("FILE")
      ->check(CLI::ExistingFile);
}

LoadedPolicy load_policy_flag(const std::string& file, const rpc::ServerOptions& server) {
  LoadedPolicy loaded;
  if (file.empty()) return loaded;
  if (server.tls.client_ca.empty()) {
    loaded.error = "--policy needs --tls-client-ca (mutual TLS): without client certificates no caller has an "
                   "identity, and the policy would refuse every call it governs";
    return loaded;
  }
  std::string error;
  loaded.policy = policy::Policy::load(file, error);
  if (!loaded.policy) loaded.error = error;
  return loaded;
}

}  // namespace routing::app
