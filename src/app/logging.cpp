#include "app/logging.h"

#include "common/log.h"

#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace routing::app {
namespace {

// The length of the valid UTF-8 sequence at the start of `text`, 0 if none
// (a line with invalid UTF-8, e.g. a caller's system name, is not JSON).
std::size_t utf8_sequence(std::string_view text) {
  auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  std::size_t length = byte(0) < 0x80 ? 1 : byte(0) >= 0xC2 && byte(0) <= 0xDF ? 2
                     : byte(0) >= 0xE0 && byte(0) <= 0xEF                   ? 3
                     : byte(0) >= 0xF0 && byte(0) <= 0xF4                   ? 4
                                                                            : 0;
  if (length == 0 || length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    if ((byte(i) & 0xC0) != 0x80) return 0;
  }
  if (length == 3 && byte(0) == 0xE0 && byte(1) < 0xA0) return 0;  // overlong
  if (length == 3 && byte(0) == 0xED && byte(1) >= 0xA0) return 0;  // surrogates
  if (length == 4 && byte(0) == 0xF0 && byte(1) < 0x90) return 0;  // overlong
  if (length == 4 && byte(0) == 0xF4 && byte(1) >= 0x90) return 0;  // past U+10FFFF
  return length;
}

// %j in a pattern: the message as the inside of a JSON string (invalid
// UTF-8 bytes become U+FFFD).
class JsonEscapedMessage : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&, spdlog::memory_buf_t& out) override {
    static constexpr char hex[] = "0123456789abcdef";
    std::string_view text(msg.payload.data(), msg.payload.size());
    while (!text.empty()) {
      char c = text.front();
      auto byte = static_cast<unsigned char>(c);
      std::size_t length = utf8_sequence(text);
      if (length == 0) {
        const std::string_view replacement = "\\ufffd";
        out.append(replacement.data(), replacement.data() + replacement.size());
        length = 1;
      } else if (c == '"' || c == '\\') {
        out.push_back('\\');
        out.push_back(c);
      } else if (byte < 0x20) {
        const char escaped[] = {'\\', 'u', '0', '0', hex[byte >> 4], hex[byte & 15]};
        out.append(escaped, escaped + sizeof escaped);
      } else {
        out.append(text.data(), text.data() + length);
      }
      text.remove_prefix(length);
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override { return std::make_unique<JsonEscapedMessage>(); }
};

std::unique_ptr<spdlog::formatter> formatter_for(const std::string& format, const std::string& program) {
  constexpr auto utc = spdlog::pattern_time_type::utc;
  auto formatter = std::make_unique<spdlog::pattern_formatter>(utc, spdlog::details::os::default_eol);
  if (format == "json") {
    formatter->add_flag<JsonEscapedMessage>('j');
    formatter->set_pattern(R"({"ts":"%Y-%m-%dT%H:%M:%S.%eZ","level":"%l","program":")" + program + R"(","msg":"%j"})");
  } else {
    formatter->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l " + program + ": %v");
  }
  return formatter;
}

}  // namespace

void set_log_level(const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  spdlog::default_logger()->set_level(parsed);
  common::log().set_level(parsed);
}

void init_logging(const std::string& program, const CommonOptions& options) {
  auto parsed = spdlog::level::from_str(options.log_level);
  if (parsed == spdlog::level::off && options.log_level != "off") {
    throw std::invalid_argument("unknown log level '" + options.log_level + "'");
  }
  if (options.log_format != "text" && options.log_format != "json") {
    throw std::invalid_argument("unknown log format '" + options.log_format + "'");
  }
  auto logger = spdlog::stderr_logger_mt(program);
  logger->set_formatter(formatter_for(options.log_format, program));
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);  // tests and operators read the lines as they come
  spdlog::set_default_logger(logger);
  // The libraries' logger speaks as the program too.
  auto& library = common::log();
  library.sinks() = logger->sinks();
  library.set_formatter(formatter_for(options.log_format, program));
  library.set_level(parsed);
  library.flush_on(spdlog::level::info);
}

}  // namespace routing::app
