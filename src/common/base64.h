#pragma once
// Standard base64 (RFC 4648, with padding): etcd's JSON API carries keys and
// values this way, and so do binary payloads in routerd's JSON.
#include <optional>
#include <string>
#include <string_view>

namespace routing::common {

std::string base64_encode(std::string_view bytes);
// nullopt when `text` is not valid padded base64.
std::optional<std::string> base64_decode(std::string_view text);

}  // namespace routing::common
