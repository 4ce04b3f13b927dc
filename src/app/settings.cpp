#include "app/settings.h"

#include "app/common_flags.h"
#include "common/toml_text.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iostream>
#include <map>
#include <sstream>

namespace routing::app {
namespace {

// Settings that are not settings of the program but of how it reads them.
bool is_meta(const std::string& name) {
  return name.empty() || name == "help" || name == "version" || name == "config" || name == "check-config";
}

// A TOML number or boolean: true when `word` is one. No leading zeros (TOML
// has none, and CLI11 would read "010" as octal 8).
bool is_toml_scalar(std::string_view word) {
  if (word == "true" || word == "false") return true;
  if (word.empty()) return false;
  std::size_t i = (word[0] == '+' || word[0] == '-') ? 1 : 0;
  if (i == word.size()) return false;
  if (word[i] == '0') {
    std::size_t next = word.find_first_not_of('_', i + 1);
    if (next != std::string_view::npos && word[next] >= '0' && word[next] <= '9') return false;
  }
  bool digit = false;
  for (; i < word.size(); ++i) {
    char c = word[i];
    if (c >= '0' && c <= '9') {
      digit = true;
    } else if (c != '_' && c != '.' && c != 'e' && c != 'E' && c != '+' && c != '-') {
      return false;
    }
  }
  return digit;
}

// The value part of a line (after `=`); the value as its flag takes it.
std::optional<std::string> parse_value(std::string_view text, std::string& why) {
  text = common::toml_trim(text);
  if (text.empty()) {
    why = "no value after '='";
    return std::nullopt;
  }
  std::string_view rest;
  std::optional<std::string> value;
  if (text.front() == '"' || text.front() == '\'') {
    value = common::toml_string(text, rest, why);
    if (!value) return std::nullopt;
  } else if (text.front() == '[' || text.front() == '{') {
    why = "arrays and tables are not settings: write name = value";
    return std::nullopt;
  } else {
    auto end = text.find_first_of(" \t#");
    std::string_view word = text.substr(0, end);
    rest = end == std::string_view::npos ? std::string_view{} : text.substr(end);
    if (!is_toml_scalar(word)) {
      why = "'" + std::string(word) + "' is not a TOML value (a string needs quotes)";
      return std::nullopt;
    }
    value.emplace();
    for (char c : word) {
      if (c != '_') *value += c;  // TOML's digit separators
    }
  }
  if (!common::toml_only_comment_left(rest)) {
    why = "unexpected text after the value";
    return std::nullopt;
  }
  return value;
}

std::string env_name(const std::string& prefix, const std::string& option) {
  std::string variable = prefix;
  for (char c : option) variable += c == '-' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return variable;
}

// Why `--name=value` is refused by a fresh set of the flags; empty if fine.
// Alone, a setting that needs another (--tls-cert needs --tls-key) is not
// wrong: that pairing is checked when everything is parsed together.
std::string check_one(const Declare& declare, const std::string& name, const std::string& value) {
  auto fresh = declare();
  std::vector<std::string> args{"--" + name + "=" + value};  // CLI11 parses a vector back to front
  try {
    fresh.app->parse(args);
  } catch (const CLI::RequiresError&) {
    return {};
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return {};
}

// "--config FILE" or "--config=FILE" on the command line, else the variable.
std::optional<std::string> config_path(const std::vector<std::string>& command_line, const std::string& env_prefix) {
  for (std::size_t i = 0; i < command_line.size(); ++i) {
    std::string_view arg = command_line[i];
    if (arg == "--") break;
    if (arg == "--config" && i + 1 < command_line.size()) return command_line[i + 1];
    if (arg.starts_with("--config=")) return std::string(arg.substr(9));
  }
  if (const char* from_env = std::getenv(env_name(env_prefix, "config").c_str())) return std::string(from_env);
  return std::nullopt;
}

// The arguments the file's entries stand for, or why not.
std::optional<std::string> file_arguments(const CLI::App& app, const Declare& declare, const std::string& path,
                                          std::vector<std::string>& out) {
  std::ifstream in(path);
  if (!in) return "cannot read config file " + path + ": " + std::strerror(errno);
  std::stringstream text;
  text << in.rdbuf();
  auto parsed = parse_config_text(text.str(), path);
  if (parsed.error) return parsed.error;
  for (const auto& entry : parsed.entries) {
    auto where = path + ":" + std::to_string(entry.line) + ": ";
    const CLI::Option* option = app.get_option_no_throw("--" + entry.name);
    if (!option || is_meta(entry.name)) {
      std::string dashed = entry.name;
      for (char& c : dashed) c = c == '_' ? '-' : c;
      bool near = dashed != entry.name && app.get_option_no_throw("--" + dashed) && !is_meta(dashed);
      return where + "unknown setting '" + entry.name + "'" + (near ? " (did you mean '" + dashed + "'?)" : "");
    }
    if (auto why = check_one(declare, entry.name, entry.value); !why.empty()) return where + why;
    out.push_back("--" + entry.name + "=" + entry.value);
  }
  return std::nullopt;
}

// The arguments the environment's variables stand for, or why not.
std::optional<std::string> env_arguments(const CLI::App& app, const Declare& declare, const std::string& prefix,
                                         std::vector<std::string>& out) {
  for (const CLI::Option* option : app.get_options()) {
    std::string name = option->get_single_name();
    if (is_meta(name)) continue;
    auto variable = env_name(prefix, name);
    const char* value = std::getenv(variable.c_str());
    if (!value) continue;
    if (auto why = check_one(declare, name, value); !why.empty()) return "environment " + variable + ": " + why;
    out.push_back("--" + name + "=" + value);
  }
  return std::nullopt;
}

std::string toml_value(const std::string& value) {
  // Digit separators would be dropped when read back: such a value stays a string.
  if (is_toml_scalar(value) && value.find('_') == std::string::npos) return value;
  std::string out = "\"";
  for (char c : value) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

ParsedConfig parse_config_text(std::string_view text, const std::string& path) {
  if (text.starts_with("\xEF\xBB\xBF")) text.remove_prefix(3);  // a UTF-8 byte order mark (some editors write one)
  ParsedConfig parsed;
  std::map<std::string, int> seen;
  int number = 0;
  while (!text.empty() || number == 0) {
    ++number;
    std::string_view line = common::toml_next_line(text);
    auto fail = [&](const std::string& why) {
      parsed.error = path + ":" + std::to_string(number) + ": " + why;
      parsed.entries.clear();
      return parsed;
    };
    if (line.find('\0') != std::string_view::npos) return fail("not a text file (a NUL byte)");
    if (line.empty() || line.front() == '#') {
      if (text.empty()) break;
      continue;
    }
    if (line.front() == '[') return fail("tables are not settings: write name = value lines at the top level");
    std::string_view after_key;
    std::string why;
    auto key = common::toml_key(line, after_key, why);
    if (!key && (line.front() == '"' || line.front() == '\'')) return fail(why);
    std::string name = key.value_or(std::string());
    std::string_view after = common::toml_trim(after_key);
    if (!key || name.empty() || after.empty() || after.front() != '=') {
      return fail("not a setting: expected name = value, got '" + std::string(line.substr(0, 60)) + "'");
    }
    auto value = parse_value(after.substr(1), why);
    if (!value) return fail(why);
    if (auto [it, added] = seen.emplace(name, number); !added) {
      return fail("'" + name + "' is set twice (first on line " + std::to_string(it->second) + ")");
    }
    parsed.entries.push_back(ConfigEntry{name, *value, number});
    if (text.empty()) break;
  }
  return parsed;
}

void add_settings_flags(CLI::App& app) {
  app.add_option("--config", "TOML file of settings (name = value, named as the flags); flags and the "
                             "environment beat it")
      ->type_name("FILE");
  app.add_flag("--check-config")->description("check the flags, the environment and the config file, print what is wrong "
                                 "(or ok), exit 2 (or 0); start nothing");
}

namespace {

// File, environment and `command_line` as one argument list, lowest
// precedence first (the last value of a setting wins); or why not.
std::optional<std::string> all_arguments(const CLI::App& app, const Declare& declare, const std::string& env_prefix,
                                         const std::vector<std::string>& command_line,
                                         std::vector<std::string>& args) {
  std::optional<std::string> why;
  if (auto path = config_path(command_line, env_prefix)) why = file_arguments(app, declare, *path, args);
  if (!why) why = env_arguments(app, declare, env_prefix, args);
  args.insert(args.end(), command_line.begin(), command_line.end());
  return why;
}

}  // namespace

std::optional<std::string> read_settings(CLI::App& app, const Declare& declare, const std::string& env_prefix,
                                         const std::vector<std::string>& command_line) {
  std::vector<std::string> args;
  if (auto why = all_arguments(app, declare, env_prefix, command_line, args)) return why;
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes a vector back to front
  try {
    app.parse(reversed);
  } catch (const CLI::ParseError& e) {
    return e.what();
  }
  return std::nullopt;
}

int parse_settings(CLI::App& app, const Declare& declare, const std::string& env_prefix, int argc, char** argv) {
  std::vector<std::string> command_line(argv + 1, argv + argc);
  std::vector<std::string> args;
  if (auto why = all_arguments(app, declare, env_prefix, command_line, args)) {
    std::cerr << app.get_name() << ": " << *why << "\n";
    return 2;
  }
  std::vector<std::string> reversed(args.rbegin(), args.rend());  // CLI11 takes a vector back to front
  return parse_reporting(app, [&] { app.parse(reversed); });
}

bool checking_config(const CLI::App& app) { return app.count("--check-config") > 0; }

std::map<std::string, std::string> settings_values(const CLI::App& app) {
  std::map<std::string, std::string> values;
  for (const CLI::Option* option : app.get_options()) {
    std::string name = option->get_single_name();
    if (is_meta(name)) continue;
    std::string value = option->count() > 0 ? option->results().back() : option->get_default_str();
    if (!value.empty() && option->get_type_name() == "BOOLEAN") {
      // As CLI11 read it ("yes", "on", "2" are true too); a default is "1"/"0"/"true"/"false".
      bool on = option->count() > 0 ? option->as<bool>() : (value == "1" || value == "true");
      value = on ? "true" : "false";
    }
    values.emplace(name, value);
  }
  return values;
}

std::vector<std::string> setting_names(const CLI::App& app) {
  std::vector<std::string> names;
  for (const CLI::Option* option : app.get_options()) {
    std::string name = option->get_single_name();
    if (!is_meta(name)) names.push_back(std::move(name));
  }
  return names;
}

std::string settings_text(const std::vector<std::string>& names, const std::map<std::string, std::string>& values,
                          const std::vector<std::string>& secret) {
  std::string out;
  for (const auto& name : names) {
    auto found = values.find(name);
    if (found == values.end()) continue;
    const std::string& value = found->second;
    if (value.empty()) {  // not set: written so that the text stays a file --config takes
      out += "# " + name + " = (not set)\n";
      continue;
    }
    bool hidden = std::find(secret.begin(), secret.end(), name) != secret.end();
    out += hidden ? "# " + name + " = (set, hidden)\n" : name + " = " + toml_value(value) + "\n";
  }
  return out;
}

std::string settings_text(const CLI::App& app, const std::vector<std::string>& secret) {
  return settings_text(setting_names(app), settings_values(app), secret);
}

}  // namespace routing::app
