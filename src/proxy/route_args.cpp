#include "proxy/route_args.h"

#include "common/base64.h"
#include "common/byte_scan.h"
#include "common/json_args.h"
#include "proxy/route_json.h"

#include <boost/json/object.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace routing::proxy {
namespace json = boost::json;

bool is_valid_utf8(std::string_view text) {
  const auto* p = reinterpret_cast<const unsigned char*>(text.data());
  const auto* end = p + text.size();
  while (p < end) {
    if (end - p >= 8 && !common::has_high_byte(common::load8(reinterpret_cast<const char*>(p)))) {
      p += 8;  // eight ASCII bytes
      continue;
    }
    unsigned char c = *p;
    std::size_t extra;
    std::uint32_t code;
    if (c < 0x80) {
      ++p;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      extra = 1, code = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      extra = 2, code = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      extra = 3, code = c & 0x07;
    } else {
      return false;
    }
    if (static_cast<std::size_t>(end - p) <= extra) return false;
    for (std::size_t i = 1; i <= extra; ++i) {
      if ((p[i] & 0xC0) != 0x80) return false;
      code = (code << 6) | (p[i] & 0x3F);
    }
    // Overlong forms, surrogates and values past U+10FFFF are not UTF-8.
    static constexpr std::uint32_t minimum[] = {0, 0x80, 0x800, 0x10000};
    if (code < minimum[extra] || code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) return false;
    p += extra + 1;
  }
  return true;
}

std::variant<RouteArgs, std::string> parse_route_args(std::string_view text) {
  if (auto common_shape = scan_route_args(text)) return std::move(*common_shape);
  return parse_route_args_with_tree(text);
}

std::optional<std::string> parse_route_args(std::string_view text, RouteArgs& out) {
  if (scan_route_args(text, out)) return std::nullopt;
  auto parsed = parse_route_args_with_tree(text);
  if (auto* error = std::get_if<std::string>(&parsed)) return std::move(*error);
  out = std::move(std::get<RouteArgs>(parsed));
  return std::nullopt;
}

std::variant<RouteArgs, std::string> parse_route_args_with_tree(std::string_view text) {
  common::JsonArgs args(text);
  RouteArgs out;
  out.name = args.required_string("name");
  if (args.ok() && out.name.empty()) args.fail("field \"name\" must not be empty");
  if (args.ok() && !args.has("procedure_id")) args.fail("missing field \"procedure_id\"");
  out.procedure_id = static_cast<std::uint32_t>(args.optional_integer("procedure_id", 0, 2147483647).value_or(0));
  auto payload = args.optional_string("payload");
  auto encoded = args.optional_string("payload_base64");
  if (args.ok() && payload && encoded) args.fail("send \"payload\" or \"payload_base64\", not both");
  if (args.ok() && !payload && !encoded) args.fail("missing field \"payload\" (or \"payload_base64\")");
  if (args.ok() && encoded) {
    auto decoded = common::base64_decode(*encoded);
    if (!decoded) args.fail("field \"payload_base64\" is not valid base64");
    else out.payload = std::move(*decoded);
  } else if (payload) {
    out.payload = std::move(*payload);
  }
  if (auto timeout = args.optional_integer("timeout_ms", 1, 3'600'000)) {
    out.options.timeout = std::chrono::milliseconds(*timeout);
  }
  out.options.idempotent = args.optional_bool("idempotent").value_or(false);
  if (!args.ok()) return args.error();
  return out;
}

namespace {

// Whether a request sends `payload` as JSON text rather than base64: when it
// is UTF-8 and no longer on the line than base64 would be. Text of control
// bytes grows 7-fold on the line, base64 only 4/3: a payload that fits a
// frame as base64 is never sent in a form that does not.
bool send_as_text(std::string_view payload) {
  return is_valid_utf8(payload) && json_string_line_bytes(payload) <= 4 * ((payload.size() + 2) / 3) + 2;
}

}  // namespace

std::string route_args_json(std::string_view system, std::uint32_t procedure, std::string_view payload,
                            const CallOptions& options) {
  json::object args{{"name", system}, {"procedure_id", procedure}};
  if (send_as_text(payload)) {
    args["payload"] = payload;
  } else {
    args["payload_base64"] = common::base64_encode(payload);
  }
  if (options.timeout) args["timeout_ms"] = options.timeout->count();
  if (options.idempotent) args["idempotent"] = true;
  return json::serialize(args);
}

Reply unwrap_answer(const Reply& answer) {
  boost::system::error_code ec;
  auto value = json::parse(answer.payload, ec);
  if (ec || !value.is_object()) {
    // Not routerd's JSON (e.g. a line-protocol error): pass it on as it is.
    return answer;
  }
  const auto& object = value.as_object();
  if (auto* payload = object.if_contains("payload"); payload && payload->is_string()) {
    return {answer.status, std::string(payload->get_string())};
  }
  if (auto* encoded = object.if_contains("payload_base64"); encoded && encoded->is_string()) {
    if (auto decoded = common::base64_decode(encoded->get_string())) return {answer.status, std::move(*decoded)};
  }
  if (auto* error = object.if_contains("error"); error && error->is_string()) {
    return {answer.status, std::string(error->get_string())};
  }
  return answer;
}

}  // namespace routing::proxy
