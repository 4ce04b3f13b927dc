#include "common/toml_text.h"

namespace routing::common {
namespace {

bool is_bare_key_char(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

std::optional<std::string> basic_string(std::string_view text, std::string_view& rest, std::string& why) {
  std::string out;
  for (std::size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (c == '"') {
      rest = text.substr(i + 1);
      return out;
    }
    if (c != '\\') {
      out += c;
      continue;
    }
    if (++i == text.size()) break;
    switch (text[i]) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case 'n': out += '\n'; break;
      case 't': out += '\t'; break;
      case 'r': out += '\r'; break;
      default:
        why = std::string("unsupported escape \\") + text[i] + " in a string";
        return std::nullopt;
    }
  }
  why = "a string without its closing quote";
  return std::nullopt;
}

}  // namespace

std::string_view toml_trim(std::string_view text) {
  while (!text.empty() && (text.front() == ' ' || text.front() == '\t')) text.remove_prefix(1);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) text.remove_suffix(1);
  return text;
}

bool toml_only_comment_left(std::string_view rest) {
  rest = toml_trim(rest);
  return rest.empty() || rest.front() == '#';
}

std::optional<std::string> toml_string(std::string_view text, std::string_view& rest, std::string& why) {
  if (text.starts_with("\"\"\"") || text.starts_with("'''")) {
    why = "multi-line strings are not supported";
    return std::nullopt;
  }
  if (text.starts_with('"')) return basic_string(text, rest, why);
  auto close = text.find('\'', 1);
  if (!text.starts_with('\'') || close == std::string_view::npos) {
    why = "a string without its closing quote";
    return std::nullopt;
  }
  rest = text.substr(close + 1);
  return std::string(text.substr(1, close - 1));
}

std::optional<std::string> toml_key(std::string_view line, std::string_view& rest, std::string& why) {
  if (line.starts_with('"') || line.starts_with('\'')) return toml_string(line, rest, why);
  std::size_t end = 0;
  while (end < line.size() && is_bare_key_char(line[end])) ++end;
  if (end == 0) {
    why = "expected a key";
    return std::nullopt;
  }
  rest = line.substr(end);
  return std::string(line.substr(0, end));
}

std::string_view toml_next_line(std::string_view& text) {
  auto end = text.find('\n');
  std::string_view line = toml_trim(text.substr(0, end));
  text = end == std::string_view::npos ? std::string_view{} : text.substr(end + 1);
  return line;
}

}  // namespace routing::common
