// libFuzzer target: arbitrary bytes as the JSON of discoveryd's procedures,
// read both as arguments (what discoveryd receives from any client) and as
// answers (what clients receive from a discovery server). Never crash or
// throw; whatever is accepted satisfies the contract's rules (CONTRACT §2,
// and §11's zone, weight and meta); a rejection always has a reason; an
// accepted LIST answer or instance object round-trips, placements included.
#include "discovery/placement_rules.h"
#include "discovery/protocol_json.h"
#include "rpc/host_port.h"

#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>

using namespace routing;
using namespace routing::discovery;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

void check_name(const std::string& name) { check(!name.empty() && name.size() <= max_name_bytes); }

void check_address(const std::string& address) {
  auto parsed = rpc::parse_host_port(address);
  check(parsed && parsed->port != 0 && !parsed->host.empty());
}

// Either a value that obeys `rules`, or no value and a reason.
template <typename Parse, typename Rules>
void check_parser(Parse parse, std::string_view input, Rules rules) {
  std::string error;
  auto args = parse(input, error);
  if (args) {
    rules(*args);
  } else {
    check(!error.empty());
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  check_parser(parse_register_args, input, [](const RegisterArgs& a) {
    check_name(a.name);
    check_address(a.address);
    check(a.ttl_ms >= 1 && a.ttl_ms <= max_ttl_ms);
    check(!placement_problem(a.placement));
  });
  check_parser(parse_query_args, input, [](const QueryArgs& a) { check_name(a.name); });
  auto parse_list = [](std::string_view payload, std::string& error) { return parse_list_args(payload, error); };
  check_parser(parse_list, input, [](const ListArgs& a) {
    if (a.names) {
      check(a.name.empty() && !a.names->empty() && a.names->size() <= default_max_watch_names);
      for (const auto& name : *a.names) check_name(name);
    } else {
      check_name(a.name);
    }
    check(!a.index || *a.index >= 0);
    check(a.wait_ms >= 0 && a.wait_ms <= max_wait_ms);
  });
  check_parser(parse_deregister_args, input, [](const DeregisterArgs& a) {
    check_name(a.name);
    check_address(a.address);
  });
  if (auto set = parse_address_set(input)) {
    for (const auto& [address, placement] : set->placements) check(!placement_problem(placement));
    auto again = parse_address_set(address_set_json(*set));
    check(again && *again == *set);
  }
  if (auto instance = parse_instance(input)) {
    check(!placement_problem(instance->second));
    check(parse_instance(instance_json(instance->first, instance->second)) == instance);
  }
  if (auto sets = parse_named_sets(input)) {
    auto again = parse_named_sets(named_sets_json(*sets));
    check(again && again->index == sets->index);
  }
  string_field(input, "address");
  return 0;
}
