#pragma once
// Who may do what (CONTRACT §9, docs/security.md "Policy"): the rules of a
// `--policy` file, shared by routerd (who may ROUTE to which systems, who
// may change the router) and discoveryd (who may REGISTER and DEREGISTER
// which names). The file is TOML:
//
//     [[allow]]
//     identity = "spiffe://example/billing"   # or "*": any verified client
//     systems = ["ledger", "echo"]            # or ["*"]: every name
//     admin = false                           # routerd: SET_STRATEGY and the like
//
// Rules only allow; what no rule allows is refused. A caller without an
// identity (no client certificate) matches no rule, not even "*".
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>

namespace routing::policy {

class Policy {
 public:
  // The policy `text` holds (read from `path`, which errors name); null with
  // `error` ("PATH:LINE: why") when it is not one.
  static std::shared_ptr<const Policy> parse(std::string_view text, const std::string& path, std::string& error);
  // The same from the file at `path`.
  static std::shared_ptr<const Policy> load(const std::string& path, std::string& error);

  // May `identity` route to (routerd) or register (discoveryd) `name`?
  bool may_use(std::string_view identity, std::string_view name) const;
  // May `identity` change the router (SET_STRATEGY, drains)?
  bool may_admin(std::string_view identity) const;

  std::size_t rule_count() const { return rules_; }
  // The file's text: a reload that finds it unchanged says nothing.
  const std::string& text() const { return text_; }

 private:
  struct Hash {
    using is_transparent = void;
    std::size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  using Names = std::unordered_set<std::string, Hash, std::equal_to<>>;
  // What the rules naming one identity (or "*") allow, merged.
  struct Grant {
    bool every_name = false;
    Names names;
    bool admin = false;
    bool allows(std::string_view name) const { return every_name || names.find(name) != names.end(); }
  };
  friend class PolicyReader;

  Grant any_verified_;  // the "*" rules
  std::unordered_map<std::string, Grant, Hash, std::equal_to<>> by_identity_;
  std::size_t rules_ = 0;
  std::string text_;
};

}  // namespace routing::policy
