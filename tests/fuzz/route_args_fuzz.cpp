// libFuzzer target: arbitrary bytes as ROUTE arguments. Never crash; wherever
// the fast scanner accepts, the full JSON parser accepts the same fields; an
// accepted call's answer, written without a JSON tree, parses back to it.
#include "proxy/route_args.h"
#include "proxy/route_json.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace routing;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  auto fast = proxy::scan_route_args(input);
  auto full = proxy::parse_route_args_with_tree(input);
  if (fast) {
    auto* args = std::get_if<proxy::RouteArgs>(&full);
    check(args != nullptr);
    check(args->name == fast->name && args->procedure_id == fast->procedure_id && args->payload == fast->payload);
    check(args->options.timeout == fast->options.timeout && args->options.idempotent == fast->options.idempotent);
  }
  if (auto* args = std::get_if<proxy::RouteArgs>(&full)) {
    Reply answer = proxy::backend_answer(Reply::success(args->payload), std::size_t{1} << 30);
    check(proxy::unwrap_answer(answer).payload == args->payload);
  }
  return 0;
}
