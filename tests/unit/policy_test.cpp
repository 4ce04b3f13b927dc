// The --policy file (CONTRACT §9): what it allows, and that every mistake
// in it is an error naming its line.
#include "policy/policy.h"
#include "policy/policy_gate.h"

#include <gtest/gtest.h>

namespace routing::policy {
namespace {

using namespace std::string_view_literals;

std::shared_ptr<const Policy> parse(std::string_view text, std::string* error_out = nullptr) {
  std::string error;
  auto policy = Policy::parse(text, "policy.toml", error);
  if (error_out) *error_out = error;
  return policy;
}

std::string error_of(std::string_view text) {
  std::string error;
  EXPECT_EQ(parse(text, &error), nullptr) << text;
  return error;
}

constexpr std::string_view example = R"(
# billing may route to its systems; ops may change the router.
[[allow]]
identity = "spiffe://example/billing"   # exact identity
systems = ["ledger", "echo"]
admin = false

[[allow]]
identity = 'spiffe://example/ops'
admin = true

[[allow]]
identity = "*"
systems = [
  "status",   # every verified client
]
)";

TEST(PolicyTest, AllowsWhatItsRulesName) {
  auto policy = parse(example);
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->rule_count(), 3u);
  EXPECT_TRUE(policy->may_use("spiffe://example/billing", "ledger"));
  EXPECT_TRUE(policy->may_use("spiffe://example/billing", "echo"));
  EXPECT_FALSE(policy->may_use("spiffe://example/billing", "payroll"));
  EXPECT_FALSE(policy->may_admin("spiffe://example/billing"));
  EXPECT_TRUE(policy->may_admin("spiffe://example/ops"));
  EXPECT_FALSE(policy->may_use("spiffe://example/ops", "ledger"));
  // "*": any verified client, for what that rule names.
  EXPECT_TRUE(policy->may_use("spiffe://example/ops", "status"));
  EXPECT_TRUE(policy->may_use("someone-else", "status"));
  EXPECT_FALSE(policy->may_use("someone-else", "echo"));
}

TEST(PolicyTest, ACallerWithoutIdentityMatchesNoRuleNotEvenTheWildcard) {
  auto policy = parse("[[allow]]\nidentity = \"*\"\nsystems = [\"*\"]\nadmin = true\n");
  ASSERT_NE(policy, nullptr);
  EXPECT_TRUE(policy->may_use("anyone", "anything"));
  EXPECT_TRUE(policy->may_admin("anyone"));
  EXPECT_FALSE(policy->may_use("", "anything"));
  EXPECT_FALSE(policy->may_admin(""));
}

TEST(PolicyTest, RulesForOneIdentityAddUp) {
  auto policy = parse("[[allow]]\nidentity = \"a\"\nsystems = [\"x\"]\n"
                      "[[allow]]\nidentity = \"a\"\nsystems = [\"y\"]\nadmin = true\n");
  ASSERT_NE(policy, nullptr);
  EXPECT_TRUE(policy->may_use("a", "x"));
  EXPECT_TRUE(policy->may_use("a", "y"));
  EXPECT_TRUE(policy->may_admin("a"));
  EXPECT_FALSE(policy->may_use("b", "x"));
}

TEST(PolicyTest, NoRulesAllowNothing) {
  auto policy = parse("# nobody yet\n");
  ASSERT_NE(policy, nullptr);
  EXPECT_EQ(policy->rule_count(), 0u);
  EXPECT_FALSE(policy->may_use("a", "x"));
  EXPECT_FALSE(policy->may_admin("a"));
}

TEST(PolicyTest, EveryMistakeIsAnErrorNamingItsLine) {
  EXPECT_EQ(error_of("[allow]\n"), "policy.toml:1: a policy has only [[allow]] rules; '[allow]' is not one");
  EXPECT_EQ(error_of("[[deny]]\n"), "policy.toml:1: a policy has only [[allow]] rules; '[[deny]]' is not one");
  EXPECT_EQ(error_of("identity = \"a\"\n"),
            "policy.toml:1: 'identity' outside an [[allow]] rule: start the rule with [[allow]]");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nsystem = [\"x\"]\n"),
            "policy.toml:3: unknown key 'system' (a rule has identity, systems and admin)");
  EXPECT_EQ(error_of("[[allow]]\nsystems = [\"x\"]\n"), "policy.toml:1: an [[allow]] rule without identity");
  EXPECT_EQ(error_of("\n[[allow]]\nidentity = \"a\"\n"),
            "policy.toml:2: this rule allows nothing: give it systems or admin = true");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nsystems = []\nadmin = false\n"),
            "policy.toml:1: this rule allows nothing: give it systems or admin = true");
  EXPECT_EQ(error_of("[[allow]]\nidentity = a\n"), "policy.toml:2: identity must be a string");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"\"\n"),
            "policy.toml:2: identity must not be empty (\"*\" stands for any verified client)");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nidentity = \"b\"\n"),
            "policy.toml:3: identity is set twice in this rule");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nadmin = yes\n"), "policy.toml:3: admin must be true or false");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nsystems = \"x\"\n"),
            "policy.toml:3: systems must be a list of names, e.g. [\"ledger\", \"echo\"]");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nsystems = [x]\n"),
            "policy.toml:3: systems must hold names in quotes");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nsystems = [\"x\" \"y\"]\n"),
            "policy.toml:3: expected , or ] in the systems list");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nsystems = [\"\"]\n"), "policy.toml:3: an empty name in systems");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nsystems = [\"x\",\n\"y\"\n"),
            "policy.toml:4: the systems list is not closed with ]");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nsystems = [\"x\"] y\n"),
            "policy.toml:3: unexpected text after the systems list");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\nsystems = [\"x\"]\n"),
            "policy.toml:2: identity must be a string: a string without its closing quote");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\n\0"sv), "policy.toml:3: not a text file (a NUL byte)");
  EXPECT_EQ(error_of("[[allow]]\nwhat\n"), "policy.toml:2: expected key = value or [[allow]], got 'what'");
  // Lines are counted across rules: an error in the second rule names its own line.
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nadmin = true\n\n[[allow]]\nidentity = \"b\"\nadmin = maybe\n"),
            "policy.toml:7: admin must be true or false");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nadmin = true\n[[allow]]\nadmin = true\n"),
            "policy.toml:4: an [[allow]] rule without identity");
  EXPECT_EQ(error_of("[[allow]]\n\"a\\nb\" = 1\n"), "policy.toml:2: a key with a control character");
  EXPECT_EQ(error_of("[[allow]]\nidentity = \"a\"\nsystems = [\n\"x\0\"]\n"sv),
            "policy.toml:4: not a text file (a NUL byte)");
}

TEST(PolicyTest, ReadsTheFileAndRefusesAMissingOne) {
  std::string error;
  EXPECT_EQ(Policy::load("/nonexistent/policy.toml", error), nullptr);
  EXPECT_EQ(error, "cannot read policy file /nonexistent/policy.toml: No such file or directory");
}

rpc::ConnectionContext caller(std::string identity) {
  rpc::ConnectionContext connection;
  connection.peer = {boost::asio::ip::make_address("127.0.0.1"), 5555};
  connection.identity = std::move(identity);
  return connection;
}

TEST(PolicyGateTest, WithoutAPolicyEveryoneMayDoEverything) {
  PolicyGate gate;
  EXPECT_EQ(gate.refuse_use(caller(""), "route to", "ledger"), std::nullopt);
  EXPECT_EQ(gate.refuse_admin(caller(""), "SET_STRATEGY"), std::nullopt);
  EXPECT_TRUE(gate.denials().empty());
}

TEST(PolicyGateTest, RefusalsSayWhoMayNotDoWhatAndAreCountedByIdentity) {
  PolicyGate gate;
  gate.set(parse(example));
  EXPECT_EQ(gate.refuse_use(caller("spiffe://example/billing"), "route to", "ledger"), std::nullopt);
  EXPECT_EQ(gate.refuse_use(caller("spiffe://example/billing"), "route to", "payroll"),
            "permission denied: 'spiffe://example/billing' may not route to 'payroll'");
  EXPECT_EQ(gate.refuse_admin(caller("spiffe://example/billing"), "SET_STRATEGY"),
            "permission denied: 'spiffe://example/billing' may not call SET_STRATEGY (the policy gives it no "
            "admin = true)");
  EXPECT_EQ(gate.refuse_use(caller(""), "register", "status"),
            "permission denied: a caller without a client certificate may not register 'status'");
  auto denials = gate.denials();
  EXPECT_EQ(denials["spiffe://example/billing"], 2u);
  EXPECT_EQ(denials["_none"], 1u);
}

TEST(PolicyGateTest, IdentitiesPastTheCapAreCountedTogether) {
  PolicyGate gate;
  gate.set(parse("[[allow]]\nidentity = \"ops\"\nadmin = true\n"));
  for (std::size_t i = 0; i < PolicyGate::max_reported_identities + 5; ++i) {
    EXPECT_NE(gate.refuse_use(caller("id-" + std::to_string(i)), "route to", "x"), std::nullopt);
  }
  auto denials = gate.denials();
  EXPECT_EQ(denials.size(), PolicyGate::max_reported_identities + 1);
  EXPECT_EQ(denials["_other"], 5u);
}

TEST(PolicyGateTest, AReplacementSaysWhetherAnythingChanged) {
  PolicyGate gate;
  EXPECT_FALSE(gate.replace(nullptr));
  EXPECT_TRUE(gate.replace(parse(example)));
  EXPECT_FALSE(gate.replace(parse(example)));  // the same text read again
  EXPECT_TRUE(gate.replace(parse("[[allow]]\nidentity = \"a\"\nadmin = true\n")));
  EXPECT_NE(gate.refuse_use(caller("spiffe://example/billing"), "route to", "ledger"), std::nullopt);
  EXPECT_TRUE(gate.replace(nullptr));
  EXPECT_EQ(gate.refuse_use(caller("spiffe://example/billing"), "route to", "ledger"), std::nullopt);
}

}  // namespace
}  // namespace routing::policy
