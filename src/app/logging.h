#pragma once
#include "app/common_flags.h"

#include <string>

namespace routing::app {

// Logs to stderr at `options.log_level`, times in UTC with their zone:
//   text (default): "2026-12-02T10:41:29.123Z info routerd: listening on ..."
//   json: {"ts":"2026-12-02T10:41:29.123Z","level":"info","program":"routerd","msg":"listening on ..."}
// one object per line, for log shippers. Throws std::invalid_argument on an
// unknown level or format.
void init_logging(const std::string& program, const CommonOptions& options);
// A reload: the level of the program's and the libraries' lines from now on
// (a level CLI11 already checked).
void set_log_level(const std::string& level);

}  // namespace routing::app
