#pragma once
// The standard Prometheus process metrics (process_cpu_seconds_total,
// process_resident_memory_bytes, ...) and `<program>_build_info`, as every
// Prometheus client library exports them, so dashboards and alerts written
// for those work on routerd's and discoveryd's /metrics unchanged. Linux
// only: read from /proc/self and getrlimit at each scrape (a few syscalls).
#include <optional>
#include <string>
#include <string_view>

namespace routing::admin {

struct ProcessFigures {
  double cpu_seconds = 0;         // user + system
  double resident_bytes = 0;
  double virtual_bytes = 0;
  double open_fds = 0;
  double max_fds = 0;             // the soft RLIMIT_NOFILE
  double start_time_seconds = 0;  // since the Unix epoch
};

// nullopt when /proc/self cannot be read (then no process_* lines at all:
// a missing metric is honest, a zero would not be).
std::optional<ProcessFigures> read_process_figures();

// The process_* families (HELP, TYPE and value) and
// `<program>_build_info{version="..."} 1`.
std::string process_metrics_text(std::string_view program);

// This build's version (the CMake project version).
std::string_view build_version();

}  // namespace routing::admin
