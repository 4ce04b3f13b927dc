#include "policy/policy.h"

#include "common/toml_text.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace routing::policy {

// Reads a policy file line by line. Strict, as the settings file is: an
// unknown table or key, a rule without identity or allowing nothing, a
// value of the wrong type is an error naming its line, and no policy
// results (a reload keeps the one in force).
class PolicyReader {
 public:
  PolicyReader(std::string_view text, const std::string& path) : text_(text), path_(path) {}

  std::shared_ptr<const Policy> read(std::string& error);

 private:
  struct Rule {
    int line = 0;
    std::optional<std::string> identity;
    std::optional<std::vector<std::string>> systems;
    std::optional<bool> admin;
  };

  bool fail(std::string why) { return fail_at(line_, std::move(why)); }
  bool fail_at(int line, std::string why) {
    error_ = path_ + ":" + std::to_string(line) + ": " + std::move(why);
    return false;
  }
  bool header(std::string_view line);
  bool entry(std::string_view line);
  bool identity_value(std::string_view value);
  bool admin_value(std::string_view value);
  bool systems_value(std::string_view value);
  bool finish_rule();

  std::string_view text_;  // what is left to read
  const std::string& path_;
  int line_ = 0;
  std::optional<Rule> rule_;  // the rule being read
  std::string error_;
  std::shared_ptr<Policy> policy_ = std::make_shared<Policy>();
};

std::shared_ptr<const Policy> PolicyReader::read(std::string& error) {
  policy_->text_ = std::string(text_);
  if (text_.starts_with("\xEF\xBB\xBF")) text_.remove_prefix(3);  // a UTF-8 byte order mark
  bool ok = true;
  while (ok && !text_.empty()) {
    ++line_;
    std::string_view line = common::toml_next_line(text_);
    if (line.find('\0') != std::string_view::npos) {
      ok = fail("not a text file (a NUL byte)");
    } else if (line.empty() || line.front() == '#') {
      continue;
    } else {
      ok = line.front() == '[' ? header(line) : entry(line);
    }
  }
  if (ok) ok = finish_rule();
  if (!ok) {
    error = error_;
    return nullptr;
  }
  return policy_;
}

bool PolicyReader::header(std::string_view line) {
  if (!line.starts_with("[[")) {
    return fail("a policy has only [[allow]] rules; '" + std::string(line.substr(0, 60)) + "' is not one");
  }
  auto close = line.find("]]");
  std::string_view name = close == std::string_view::npos ? std::string_view{} : common::toml_trim(line.substr(2, close - 2));
  if (name != "allow" || !common::toml_only_comment_left(line.substr(close + 2))) {
    return fail("a policy has only [[allow]] rules; '" + std::string(line.substr(0, 60)) + "' is not one");
  }
  if (!finish_rule()) return false;
  rule_ = Rule{.line = line_};
  return true;
}

bool PolicyReader::entry(std::string_view line) {
  std::string why;
  std::string_view rest;
  auto key = common::toml_key(line, rest, why);
  rest = common::toml_trim(rest);
  if (!key || !rest.starts_with('=')) {
    return fail("expected key = value or [[allow]], got '" + std::string(line.substr(0, 60)) + "'");
  }
  // A quoted key may hold escapes: no control character reaches an error line.
  if (std::any_of(key->begin(), key->end(), [](char c) { return static_cast<unsigned char>(c) < 0x20; })) {
    return fail("a key with a control character");
  }
  if (!rule_) return fail("'" + *key + "' outside an [[allow]] rule: start the rule with [[allow]]");
  std::string_view value = common::toml_trim(rest.substr(1));
  if (*key == "identity") return identity_value(value);
  if (*key == "systems") return systems_value(value);
  if (*key == "admin") return admin_value(value);
  return fail("unknown key '" + *key + "' (a rule has identity, systems and admin)");
}

bool PolicyReader::identity_value(std::string_view value) {
  if (rule_->identity) return fail("identity is set twice in this rule");
  std::string why;
  std::string_view rest;
  auto identity = value.starts_with('"') || value.starts_with('\'') ? common::toml_string(value, rest, why)
                                                                    : std::nullopt;
  if (!identity) return fail("identity must be a string" + (why.empty() ? std::string() : ": " + why));
  if (!common::toml_only_comment_left(rest)) return fail("unexpected text after the identity");
  if (identity->empty()) return fail("identity must not be empty (\"*\" stands for any verified client)");
  rule_->identity = std::move(*identity);
  return true;
}

bool PolicyReader::admin_value(std::string_view value) {
  if (rule_->admin) return fail("admin is set twice in this rule");
  auto end = value.find_first_of(" \t#");
  std::string_view word = value.substr(0, end);
  if (word != "true" && word != "false") return fail("admin must be true or false");
  if (end != std::string_view::npos && !common::toml_only_comment_left(value.substr(end))) {
    return fail("unexpected text after admin's value");
  }
  rule_->admin = word == "true";
  return true;
}

// An array of strings, which may run over several lines (comments allowed
// between its elements).
bool PolicyReader::systems_value(std::string_view value) {
  if (rule_->systems) return fail("systems is set twice in this rule");
  if (!value.starts_with('[')) return fail("systems must be a list of names, e.g. [\"ledger\", \"echo\"]");
  std::vector<std::string> names;
  value.remove_prefix(1);
  bool want_name = true;  // after '[' or ','
  for (;;) {
    value = common::toml_trim(value);
    if (value.empty() || value.front() == '#') {
      if (text_.empty()) return fail("the systems list is not closed with ]");
      ++line_;
      value = common::toml_next_line(text_);
      if (value.find('\0') != std::string_view::npos) return fail("not a text file (a NUL byte)");
      continue;
    }
    if (value.front() == ']') break;
    if (!want_name && value.front() == ',') {
      value.remove_prefix(1);
      want_name = true;
      continue;
    }
    std::string why;
    std::string_view rest;
    auto name = want_name && (value.front() == '"' || value.front() == '\'') ? common::toml_string(value, rest, why)
                                                                              : std::nullopt;
    if (!name) return fail(want_name ? "systems must hold names in quotes" : "expected , or ] in the systems list");
    if (name->empty()) return fail("an empty name in systems");
    names.push_back(std::move(*name));
    value = rest;
    want_name = false;
  }
  if (!common::toml_only_comment_left(value.substr(1))) return fail("unexpected text after the systems list");
  rule_->systems = std::move(names);
  return true;
}

bool PolicyReader::finish_rule() {
  if (!rule_) return true;
  Rule rule = std::move(*rule_);
  rule_.reset();
  // Errors name the rule's [[allow]] line (line_ keeps counting the file).
  if (!rule.identity) return fail_at(rule.line, "an [[allow]] rule without identity");
  const bool names_some = rule.systems && !rule.systems->empty();
  if (!names_some && !rule.admin.value_or(false)) {
    return fail_at(rule.line, "this rule allows nothing: give it systems or admin = true");
  }
  Policy::Grant& grant = *rule.identity == "*" ? policy_->any_verified_ : policy_->by_identity_[*rule.identity];
  for (auto& name : rule.systems.value_or(std::vector<std::string>{})) {
    if (name == "*") grant.every_name = true;
    grant.names.insert(std::move(name));
  }
  grant.admin = grant.admin || rule.admin.value_or(false);
  ++policy_->rules_;
  return true;
}

std::shared_ptr<const Policy> Policy::parse(std::string_view text, const std::string& path, std::string& error) {
  return PolicyReader(text, path).read(error);
}

std::shared_ptr<const Policy> Policy::load(const std::string& path, std::string& error) {
  constexpr std::streamoff max_bytes = 1 << 20;  // far above any real policy; a wrong file is not read whole
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    error = "cannot read policy file " + path + ": " + std::strerror(errno);
    return nullptr;
  }
  in.seekg(0, std::ios::end);
  if (in.tellg() > max_bytes) {
    error = "policy file " + path + " is larger than 1 MiB";
    return nullptr;
  }
  in.seekg(0);
  std::stringstream text;
  text << in.rdbuf();
  return parse(text.str(), path, error);
}

bool Policy::may_use(std::string_view identity, std::string_view name) const {
  if (identity.empty()) return false;
  if (any_verified_.allows(name)) return true;
  auto it = by_identity_.find(identity);
  return it != by_identity_.end() && it->second.allows(name);
}

bool Policy::may_admin(std::string_view identity) const {
  if (identity.empty()) return false;
  if (any_verified_.admin) return true;
  auto it = by_identity_.find(identity);
  return it != by_identity_.end() && it->second.admin;
}

}  // namespace routing::policy
