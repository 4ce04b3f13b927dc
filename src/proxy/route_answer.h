#pragma once
// The one rule for every ROUTE answer that carries a backend's payload: it
// must fit in one frame of the size routerd's clients read (routerd's own
// --max-frame-bytes; ProxyClient and routectl read 1 MiB by default, as
// routerd does). JSON escaping can grow a payload 7-fold on the line (a
// control byte becomes \u00XX, its backslash doubled), so an answer that
// arrived in one frame from the backend may not fit in one as
// {"payload":"..."}. The forms, in order of preference:
//   {"payload":"<text>"}           the payload is UTF-8 and fits escaped;
//   {"payload_base64":"<base64>"}  it is not UTF-8, or does not fit escaped
//                                  (4/3 of its size, nothing to escape);
//   status 8 {"error":"..."}       it fits neither: the client is told, and
//                                  its connection stays usable.
// Clients (ProxyClient, routectl) decode both forms, so nothing is lost.
#include <routing/reply.h>

#include <cstddef>
#include <string>
#include <string_view>

namespace routing::proxy {

enum class AnswerForm {
  text,           // {"payload":...}
  base64,         // {"payload_base64":...}: not UTF-8
  base64_to_fit,  // {"payload_base64":...}: UTF-8, but too long once escaped
  too_large,      // nothing written: fits no form
};

// Appends the answer's payload for a backend's `payload` answered with
// `status` to `out` (nothing when too_large) so that the frame line
// "<status>:<escaped out>" is at most `max_frame_bytes` long.
AnswerForm append_backend_answer(std::string& out, Status status, std::string_view payload,
                                 std::size_t max_frame_bytes);

// The whole ROUTE answer to a backend's reply: the backend's status with its
// payload in the form above, or 8 with routerd's error when none fits.
Reply backend_answer(const Reply& reply, std::size_t max_frame_bytes);

// routerd's error answer {"error":"<message>"}; the message is cut (at a
// character boundary) to max_error_message_bytes: messages may quote what a
// client sent, and an answer must stay far below any frame limit.
inline constexpr std::size_t max_error_message_bytes = 1024;
Reply router_error(Status status, std::string_view message);

// The error routerd answers (status 8) for a backend payload of
// `payload_bytes` that fits no form within `max_frame_bytes`.
Reply answer_too_large(std::size_t payload_bytes, std::size_t max_frame_bytes);

}  // namespace routing::proxy
