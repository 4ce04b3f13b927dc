#pragma once
#include <string>

namespace routing::app {

// Logs to stderr as "<time> <level> <program>: <message>". Throws
// std::invalid_argument on an unknown level.
void init_logging(const std::string& program, const std::string& level);

}  // namespace routing::app
