#pragma once
// Status codes of the line protocol: the gRPC canonical numbering.
#include <cstdint>
#include <string_view>

namespace routing {

// A response's status. Backends may answer any value 0..2147483647; the named
// ones are those the project itself produces or interprets.
enum class Status : std::int32_t {
  ok = 0,
  cancelled = 1,
  unknown = 2,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  permission_denied = 7,
  resource_exhausted = 8,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  unauthenticated = 16,
};

// "OK", "INVALID_ARGUMENT", ...; "STATUS_OTHER" for a value without a name.
std::string_view status_name(Status status) noexcept;

}  // namespace routing
