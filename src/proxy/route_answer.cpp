#include "proxy/route_answer.h"

#include "common/base64.h"
#include "proxy/route_args.h"
#include "proxy/route_json.h"

namespace routing::proxy {
namespace {

constexpr std::string_view text_open = "{\"payload\":";
constexpr std::string_view base64_open = "{\"payload_base64\":";

// "<status>:" before the payload on the line.
std::size_t status_prefix_bytes(Status status) {
  return std::to_string(static_cast<std::int32_t>(status)).size() + 1;
}

// The line bytes of {"payload":"<text>"}: its JSON escaping, and the line's.
// Exact only when it may matter: a payload short enough to fit even if every
// byte grew 7-fold skips the scan (the usual case).
bool text_fits(std::string_view payload, std::size_t room) {
  const std::size_t fixed = text_open.size() + 1 + 2;  // the closing '}' and the quotes
  if (payload.size() <= (room > fixed ? (room - fixed) / 7 : 0)) return true;
  return text_open.size() + 1 + json_string_line_bytes(payload) <= room;
}

std::size_t base64_line_bytes(std::size_t payload_bytes) {
  return base64_open.size() + 2 + 4 * ((payload_bytes + 2) / 3) + 1;  // quotes, digits, '}'
}

}  // namespace

AnswerForm append_backend_answer(std::string& out, Status status, std::string_view payload,
                                 std::size_t max_frame_bytes) {
  const std::size_t prefix = status_prefix_bytes(status);
  const std::size_t room = max_frame_bytes > prefix ? max_frame_bytes - prefix : 0;
  const bool utf8 = is_valid_utf8(payload);
  if (utf8 && text_fits(payload, room)) {
    out.reserve(out.size() + payload.size() + 16);
    out += text_open;
    append_json_string(out, payload);
    out += '}';
    return AnswerForm::text;
  }
  if (base64_line_bytes(payload.size()) > room) return AnswerForm::too_large;
  out += base64_open;
  append_json_string(out, common::base64_encode(payload));
  out += '}';
  return utf8 ? AnswerForm::base64_to_fit : AnswerForm::base64;
}

Reply backend_answer(const Reply& reply, std::size_t max_frame_bytes) {
  std::string out;
  if (append_backend_answer(out, reply.status, reply.payload, max_frame_bytes) == AnswerForm::too_large) {
    return answer_too_large(reply.payload.size(), max_frame_bytes);
  }
  return {reply.status, std::move(out)};
}

Reply answer_too_large(std::size_t payload_bytes, std::size_t max_frame_bytes) {
  return router_error(Status::resource_exhausted,
                      "the backend's answer (" + std::to_string(payload_bytes) +
                          " bytes) does not fit in a frame of " + std::to_string(max_frame_bytes) +
                          " bytes, neither as JSON text nor as base64");
}

Reply router_error(Status status, std::string_view message) {
  // Messages may quote what a client sent: keep the answer valid UTF-8.
  if (!is_valid_utf8(message)) message = "(message not valid UTF-8)";
  if (message.size() > max_error_message_bytes) {
    std::size_t cut = max_error_message_bytes;
    while (cut > 0 && (static_cast<unsigned char>(message[cut]) & 0xC0) == 0x80) --cut;  // not inside a character
    message = message.substr(0, cut);
  }
  std::string out = "{\"error\":";
  append_json_string(out, message);
  out += '}';
  return {status, std::move(out)};
}

}  // namespace routing::proxy
