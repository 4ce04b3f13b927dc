#include "app/logging.h"

#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <stdexcept>

namespace routing::app {

void init_logging(const std::string& program, const std::string& level) {
  auto parsed = spdlog::level::from_str(level);
  if (parsed == spdlog::level::off && level != "off") {
    throw std::invalid_argument("unknown log level '" + level + "'");
  }
  auto logger = spdlog::stderr_logger_mt(program);
  logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e %l %n: %v");
  logger->set_level(parsed);
  logger->flush_on(spdlog::level::info);  // tests and operators read the lines as they come
  spdlog::set_default_logger(logger);
  // The libraries' logger speaks as the program too.
  auto& library = common::log();
  library.sinks() = logger->sinks();
  library.set_pattern("%Y-%m-%dT%H:%M:%S.%e %l " + program + ": %v");
  library.set_level(parsed);
  library.flush_on(spdlog::level::info);
}

}  // namespace routing::app
