#pragma once
// The logger of the project's libraries: named "routing", on stderr (never
// stdout: library users own their output). Programs give it their own format
// and level in app::init_logging.
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace routing::common {

inline spdlog::logger& log() {
  static std::shared_ptr<spdlog::logger> logger = [] {
    if (auto existing = spdlog::get("routing")) return existing;
    auto created = std::make_shared<spdlog::logger>("routing", std::make_shared<spdlog::sinks::stderr_sink_mt>());
    created->set_pattern("%Y-%m-%dT%H:%M:%S.%eZ %l routing: %v", spdlog::pattern_time_type::utc);
    spdlog::register_logger(created);
    return created;
  }();
  return *logger;
}

}  // namespace routing::common
