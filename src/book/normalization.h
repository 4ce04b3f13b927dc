#pragma once
// The book's "normalization" text format (CONTRACT §12; docs/book.md): the
// payloads of the book's services, e.g. the ROUTE arguments
//   {name: "echo",procedure_id: 1,payload: "{message\: \"hi\"}"}
// A struct is `{` fields joined by `,` `}`; a field is `NAME: VALUE`; a value
// is a number, true/false, a string in double quotes with `\` `:` `"` `,`
// escaped by a backslash, a `[...]` list, or a nested struct. A struct sent
// as a string field (the ROUTE payload above) is just a string.
//
// Reading follows the book's deserializer where it is sound: fields in any
// order, unknown ones ignored, the last of a repeated one wins, whitespace
// around names and values ignored, quotes optional on a string. Where the
// book's reader is unsound (a string ending in `"`, non-ASCII text, brackets
// inside a string) this one reads what the book's writer meant: quotes and
// escapes are tracked, and bytes are bytes.
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace routing::book {

// A struct's fields as written: name, then the value's raw text (trimmed).
using Fields = std::vector<std::pair<std::string_view, std::string_view>>;

// Splits `text` (`{...}`, whitespace around it allowed) into its fields,
// viewing `text`. nullopt and `error` set when it is not a struct: no
// braces, a field without `NAME:`, a name that is not [A-Za-z_][A-Za-z0-9_]*,
// an unclosed string or bracket.
std::optional<Fields> parse_struct(std::string_view text, std::string& error);

// The value of field `name` (the last one of that name), if present.
std::optional<std::string_view> find(const Fields& fields, std::string_view name);

// A string value: one pair of surrounding quotes removed (if quoted) and
// each `\x` read as `x`. nullopt if a quote is left open or it ends in `\`.
std::optional<std::string> string_value(std::string_view raw);
// The string field `name` of the struct `text`; nullopt when `text` is not
// a struct, or has no such field, or it is not a string.
std::optional<std::string> string_field(std::string_view text, std::string_view name);
// An integer value (optional sign, decimal digits, within int64).
std::optional<std::int64_t> integer_value(std::string_view raw);

// `value` escaped and quoted as the book's writer does.
std::string quoted(std::string_view value);

// Builds `{a: "x",b: 1}` field by field, as the book's writer does.
class Writer {
 public:
  Writer& string(std::string_view name, std::string_view value);
  Writer& integer(std::string_view name, std::int64_t value);
  std::string finish();

 private:
  std::string text_ = "{";
};

// Whether a request payload is the book's (a struct) and not routerd's
// JSON: `{`, optional spaces, then a field name's first character. JSON
// objects start `{"` or `{}`, so the two cannot be confused.
bool looks_like_struct(std::string_view payload) noexcept;
// The same, and it reads as a struct: what routerd answers the book's way.
// A payload that is neither JSON nor a struct (`{oops`) keeps routerd's own
// answer: nothing says its sender is one of the book's clients.
bool is_book_payload(std::string_view payload);

}  // namespace routing::book
