// libFuzzer target: arbitrary bytes as a --policy file (TOML [[allow]]
// rules). The text is either a policy or one error naming the file and a
// line of it; a policy answers its questions without crashing, and rules
// only allow (a caller without an identity is allowed nothing).
#include "policy/policy.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  std::string error;
  auto policy = routing::policy::Policy::parse(text, "policy.toml", error);
  if (!policy) {
    check(error.starts_with("policy.toml:") && error.find('\n') == std::string::npos);
    return 0;
  }
  check(error.empty());
  check(!policy->may_use("", "echo") && !policy->may_admin(""));
  // Answers, whatever the rules: no crash, no hang.
  (void)policy->may_use("spiffe://example/billing", "ledger");
  (void)policy->may_use("*", "*");
  (void)policy->may_admin("spiffe://example/ops");
  return 0;
}
