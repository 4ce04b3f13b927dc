#include "book/normalization.h"

#include <charconv>

namespace routing::book {
namespace {

bool is_space(char c) noexcept { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
bool starts_name(char c) noexcept { return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || c == '_'; }
bool continues_name(char c) noexcept { return starts_name(c) || (c >= '0' && c <= '9'); }

std::string_view trim(std::string_view text) noexcept {
  while (!text.empty() && is_space(text.front())) text.remove_prefix(1);
  while (!text.empty() && is_space(text.back())) text.remove_suffix(1);
  return text;
}

bool is_name(std::string_view name) noexcept {
  if (name.empty() || !starts_name(name.front())) return false;
  for (char c : name) {
    if (!continues_name(c)) return false;
  }
  return true;
}

// Where the field starting at `from` ends: the next `,` outside strings and
// brackets, or the end; npos when a string or bracket is left open.
std::size_t field_end(std::string_view body, std::size_t from) noexcept {
  int depth = 0;
  bool in_string = false;
  for (std::size_t i = from; i < body.size(); ++i) {
    const char c = body[i];
    if (c == '\\') {
      ++i;  // the escaped byte is text, whatever it is
      continue;
    }
    if (c == '"') {
      in_string = !in_string;
    } else if (!in_string) {
      if (c == '{' || c == '[') ++depth;
      if (c == '}' || c == ']') {
        if (--depth < 0) return std::string_view::npos;
      }
      if (c == ',' && depth == 0) return i;
    }
  }
  return depth == 0 && !in_string ? body.size() : std::string_view::npos;
}

std::optional<std::pair<std::string_view, std::string_view>> split_field(std::string_view field, std::string& error) {
  const auto colon = field.find(':');
  if (colon == std::string_view::npos) {
    error = "field '" + std::string(trim(field).substr(0, 64)) + "' has no ':'";
    return std::nullopt;
  }
  const auto name = trim(field.substr(0, colon));
  if (!is_name(name)) {
    error = "'" + std::string(name.substr(0, 64)) + "' is not a field name";
    return std::nullopt;
  }
  return std::pair{name, trim(field.substr(colon + 1))};
}

}  // namespace

std::optional<Fields> parse_struct(std::string_view text, std::string& error) {
  text = trim(text);
  if (text.size() < 2 || text.front() != '{' || text.back() != '}') {
    error = "not a struct: it must be {NAME: VALUE,...}";
    return std::nullopt;
  }
  const std::string_view body = text.substr(1, text.size() - 2);
  Fields fields;
  if (trim(body).empty()) return fields;
  for (std::size_t start = 0;;) {
    const auto end = field_end(body, start);
    if (end == std::string_view::npos) {
      error = "a string or bracket is not closed";
      return std::nullopt;
    }
    auto field = split_field(body.substr(start, end - start), error);
    if (!field) return std::nullopt;
    fields.push_back(*field);
    if (end == body.size()) return fields;
    start = end + 1;
  }
}

std::optional<std::string_view> find(const Fields& fields, std::string_view name) {
  std::optional<std::string_view> found;
  for (const auto& [key, value] : fields) {
    if (key == name) found = value;
  }
  return found;
}

std::optional<std::string> string_value(std::string_view raw) {
  const bool quoted_value = !raw.empty() && raw.front() == '"';
  if (quoted_value) {
    // The closing quote is the last byte, and not an escaped one.
    std::size_t backslashes = 0;
    for (std::size_t i = raw.size() - 1; i > 1 && raw[i - 1] == '\\'; --i) ++backslashes;
    if (raw.size() < 2 || raw.back() != '"' || backslashes % 2 == 1) return std::nullopt;
    raw = raw.substr(1, raw.size() - 2);
  }
  std::string value;
  value.reserve(raw.size());
  for (std::size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] == '\\') {
      if (++i == raw.size()) return std::nullopt;
    } else if (quoted_value && raw[i] == '"') {
      return std::nullopt;  // an unescaped quote inside a quoted string
    }
    value += raw[i];
  }
  return value;
}

std::optional<std::string> string_field(std::string_view text, std::string_view name) {
  std::string error;
  auto fields = parse_struct(text, error);
  if (!fields) return std::nullopt;
  auto raw = find(*fields, name);
  if (!raw) return std::nullopt;
  return string_value(*raw);
}

std::optional<std::int64_t> integer_value(std::string_view raw) {
  if (!raw.empty() && raw.front() == '+') raw.remove_prefix(1);
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(raw.data(), raw.data() + raw.size(), value);
  if (ec != std::errc{} || end != raw.data() + raw.size() || raw.empty()) return std::nullopt;
  return value;
}

std::string quoted(std::string_view value) {
  std::string out;
  out.reserve(value.size() + 2);
  out += '"';
  for (char c : value) {
    if (c == '\\' || c == ':' || c == '"' || c == ',') out += '\\';
    out += c;
  }
  out += '"';
  return out;
}

Writer& Writer::string(std::string_view name, std::string_view value) {
  if (text_.size() > 1) text_ += ',';
  text_.append(name).append(": ").append(quoted(value));
  return *this;
}

Writer& Writer::integer(std::string_view name, std::int64_t value) {
  if (text_.size() > 1) text_ += ',';
  text_.append(name).append(": ").append(std::to_string(value));
  return *this;
}

std::string Writer::finish() {
  std::string text = std::move(text_);
  text += '}';
  text_ = "{";
  return text;
}

bool looks_like_struct(std::string_view payload) noexcept {
  std::size_t i = 0;
  while (i < payload.size() && is_space(payload[i])) ++i;
  if (i == payload.size() || payload[i] != '{') return false;
  ++i;
  while (i < payload.size() && is_space(payload[i])) ++i;
  return i < payload.size() && starts_name(payload[i]);
}

bool is_book_payload(std::string_view payload) {
  std::string error;
  return looks_like_struct(payload) && parse_struct(payload, error).has_value();
}

}  // namespace routing::book
