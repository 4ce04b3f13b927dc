#include "proxy/book_requests.h"

#include "book/normalization.h"

#include <limits>

namespace routing::proxy {
namespace {

// A string field that must be there.
std::optional<std::string> required_string(const book::Fields& fields, std::string_view name, std::string& error) {
  auto raw = book::find(fields, name);
  if (!raw) {
    error = "missing field '" + std::string(name) + "'";
    return std::nullopt;
  }
  auto value = book::string_value(*raw);
  if (!value) error = "field '" + std::string(name) + "' is not a string";
  return value;
}

}  // namespace

std::optional<std::string> parse_book_route(std::string_view text, RouteArgs& out) {
  std::string error;
  auto fields = book::parse_struct(text, error);
  if (!fields) return "invalid request: " + error;
  auto name = required_string(*fields, "name", error);
  if (!name) return "invalid request: " + error;
  if (name->empty()) return std::string("invalid request: field 'name' must not be empty");
  auto raw_procedure = book::find(*fields, "procedure_id");
  if (!raw_procedure) return std::string("invalid request: missing field 'procedure_id'");
  auto procedure = book::integer_value(*raw_procedure);
  if (!procedure || *procedure < 0 || *procedure > std::numeric_limits<std::uint32_t>::max()) {
    return std::string("invalid request: field 'procedure_id' must be an integer from 0 to 4294967295");
  }
  auto payload = required_string(*fields, "payload", error);
  if (!payload) return "invalid request: " + error;
  out.name = std::move(*name);
  out.procedure_id = static_cast<std::uint32_t>(*procedure);
  out.payload = std::move(*payload);
  out.options = CallOptions{};
  return std::nullopt;
}

BookStrategy parse_book_set_strategy(std::string_view text) {
  BookStrategy result;
  auto fields = book::parse_struct(text, result.error);
  if (!fields) {
    result.error = "invalid request: " + result.error;
    return result;
  }
  auto strategy = required_string(*fields, "strategy", result.error);
  if (!strategy) {
    result.error = "invalid request: " + result.error;
    return result;
  }
  result.strategy = std::move(*strategy);
  return result;
}

std::string_view book_answer(const Reply& reply, bool from_backend) {
  switch (reply.status) {
    case Status::ok: return reply.payload;
    case Status::deadline_exceeded: return "Operation timed out";
    case Status::unimplemented: return "Unknown procedure";
    case Status::unavailable: return "Service not available";
    case Status::not_found: return from_backend ? std::string_view(reply.payload) : "Service not available";
    default: return reply.payload;
  }
}

}  // namespace routing::proxy
