#pragma once
// The small part of TOML both of our file formats read: the settings file
// (app/settings.h: `name = value` lines) and the policy file
// (policy/policy.h: `[[allow]]` tables). Keys, strings and comments are
// read one way for both, so a quoted key or an escape means the same thing
// in either file.
#include <optional>
#include <string>
#include <string_view>

namespace routing::common {

// `text` without blanks (spaces, tabs, a CR) at either end.
std::string_view toml_trim(std::string_view text);

// What may follow a value: blanks, then nothing or a comment.
bool toml_only_comment_left(std::string_view rest);

// A TOML string, `text` starting at its opening quote: "basic" (escapes
// \" \\ \n \t \r) or 'literal'. The string, with `rest` set to what follows
// its closing quote; or nullopt with `why`. Multi-line strings are refused.
std::optional<std::string> toml_string(std::string_view text, std::string_view& rest, std::string& why);

// The key at the start of `line` (bare: letters, digits, - and _; or a
// quoted string), with `rest` set to what follows it; nullopt with `why`.
std::optional<std::string> toml_key(std::string_view line, std::string_view& rest, std::string& why);

// The next line of `text` (without its newline), trimmed; `text` moves past it.
std::string_view toml_next_line(std::string_view& text);

}  // namespace routing::common
