#pragma once
// A Prometheus label value as the text exposition format wants it:
// backslash, double quote and line feed escaped.
#include <string>
#include <string_view>

namespace routing::common {

inline std::string prometheus_label(std::string_view value) {
  std::string out;
  out.reserve(value.size());
  for (char c : value) {
    if (c == '\\') out += "\\\\";
    else if (c == '"') out += "\\\"";
    else if (c == '\n') out += "\\n";
    else out += c;
  }
  return out;
}

}  // namespace routing::common
