#pragma once
// routerd's JSON (CONTRACT §3): reading ROUTE arguments and writing its
// answers. Payloads travel as JSON strings, or base64 when they are not UTF-8.
#include <routing/reply.h>
#include <routing/router.h>

#include "proxy/route_answer.h"

#include <optional>
#include <string>
#include <string_view>
#include <variant>

namespace routing::proxy {

inline constexpr std::uint32_t route_procedure = 1;
inline constexpr std::uint32_t set_strategy_procedure = 2;
inline constexpr std::uint32_t status_procedure = 3;
inline constexpr std::uint32_t authenticate_procedure = 4;
// CONTRACT §11: {"name":"echo","address":"127.0.0.1:7001"} (routerd_drain.cpp).
inline constexpr std::uint32_t drain_procedure = 5;
inline constexpr std::uint32_t undrain_procedure = 6;

struct RouteArgs {
  std::string name;
  std::uint32_t procedure_id = 0;
  std::string payload;  // decoded from "payload" or "payload_base64"
  CallOptions options;
};

// The arguments, or the reason they are invalid (for status 3).
std::variant<RouteArgs, std::string> parse_route_args(std::string_view json);
// The same into `out` (its strings keep their capacity): the reason they are
// invalid, or nullopt.
std::optional<std::string> parse_route_args(std::string_view json, RouteArgs& out);
// The same through a full JSON parse (what parse_route_args falls back to
// when its fast scanner gives up; tests compare the two).
std::variant<RouteArgs, std::string> parse_route_args_with_tree(std::string_view json);

// Builds ROUTE arguments (what ProxyClient and routectl send).
std::string route_args_json(std::string_view system, std::uint32_t procedure, std::string_view payload,
                            const CallOptions& options);

// Unwraps an answer of routerd (what ProxyClient returns to its caller).
Reply unwrap_answer(const Reply& answer);

bool is_valid_utf8(std::string_view text);

}  // namespace routing::proxy
