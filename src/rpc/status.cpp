#include <routing/status.h>

namespace routing {

std::string_view status_name(Status status) noexcept {
  switch (status) {
    case Status::ok: return "OK";
    case Status::cancelled: return "CANCELLED";
    case Status::unknown: return "UNKNOWN";
    case Status::invalid_argument: return "INVALID_ARGUMENT";
    case Status::deadline_exceeded: return "DEADLINE_EXCEEDED";
    case Status::not_found: return "NOT_FOUND";
    case Status::permission_denied: return "PERMISSION_DENIED";
    case Status::resource_exhausted: return "RESOURCE_EXHAUSTED";
    case Status::unimplemented: return "UNIMPLEMENTED";
    case Status::internal: return "INTERNAL";
    case Status::unavailable: return "UNAVAILABLE";
    case Status::unauthenticated: return "UNAUTHENTICATED";
  }
  return "STATUS_OTHER";
}

}  // namespace routing
