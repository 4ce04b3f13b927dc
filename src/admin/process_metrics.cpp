#include "admin/process_metrics.h"

#include <charconv>
#include <cstdlib>
#include <limits>
#include <cstdio>
#include <dirent.h>
#include <fstream>
#include <iterator>
#include <sstream>
#include <sys/resource.h>
#include <unistd.h>
#include <vector>

namespace routing::admin {
namespace {

std::string read_all(const char* path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

// /proc/stat's "btime": when the machine booted, in seconds since the epoch;
// /proc/self/stat counts the process's start from boot.
std::optional<double> boot_time() {
  std::istringstream in(read_all("/proc/stat"));
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double seconds = 0;
      if (in >> seconds) return seconds;
      return std::nullopt;
    }
    in.ignore(std::numeric_limits<std::streamsize>::max(), '\n');
  }
  return std::nullopt;
}

// Entries of /proc/self/fd, less the one this listing holds open.
std::optional<double> open_fds() {
  DIR* dir = ::opendir("/proc/self/fd");
  if (!dir) return std::nullopt;
  double count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    if (entry->d_name[0] != '.') ++count;
  }
  ::closedir(dir);
  return count - 1;
}

void family(std::string& out, std::string_view name, std::string_view type, std::string_view help, double value) {
  char number[64];
  auto [end, ec] = std::to_chars(number, number + sizeof number, value);
  out.append("# HELP ").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE ").append(name).append(" ").append(type).append("\n");
  out.append(name).append(" ").append(number, end).append("\n");
}

}  // namespace

std::optional<ProcessFigures> read_process_figures() {
  // After the command name (in parentheses, which may hold spaces or ')'):
  // field 3 onwards, space separated (proc(5)).
  std::string stat = read_all("/proc/self/stat");
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream in(stat.substr(close + 1));
  std::vector<std::string> fields{"", "", ""};  // 1-based, as proc(5) numbers them: 1 pid, 2 comm
  for (std::string field; in >> field;) fields.push_back(field);
  if (fields.size() <= 24) return std::nullopt;
  auto number = [&](std::size_t i) { return std::strtod(fields[i].c_str(), nullptr); };
  const double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(::sysconf(_SC_PAGESIZE));
  auto boot = boot_time();
  auto fds = open_fds();
  rlimit limit{};
  if (ticks <= 0 || !boot || !fds || ::getrlimit(RLIMIT_NOFILE, &limit) != 0) return std::nullopt;
  ProcessFigures figures;
  figures.cpu_seconds = (number(14) + number(15)) / ticks;   // utime + stime
  figures.start_time_seconds = *boot + number(22) / ticks;  // starttime
  figures.virtual_bytes = number(23);                        // vsize
  figures.resident_bytes = number(24) * page;                // rss, in pages
  figures.open_fds = *fds;
  figures.max_fds = limit.rlim_cur == RLIM_INFINITY ? -1 : static_cast<double>(limit.rlim_cur);
  return figures;
}

std::string process_metrics_text(std::string_view program) {
  std::string out;
  if (auto f = read_process_figures()) {
    family(out, "process_cpu_seconds_total", "counter", "Total user and system CPU time spent in seconds.",
           f->cpu_seconds);
    family(out, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", f->resident_bytes);
    family(out, "process_virtual_memory_bytes", "gauge", "Virtual memory size in bytes.", f->virtual_bytes);
    family(out, "process_open_fds", "gauge", "Number of open file descriptors.", f->open_fds);
    family(out, "process_max_fds", "gauge", "Maximum number of open file descriptors.", f->max_fds);
    family(out, "process_start_time_seconds", "gauge", "Start time of the process since unix epoch in seconds.",
           f->start_time_seconds);
  }
  std::string name = std::string(program) + "_build_info";
  out.append("# HELP ").append(name).append(" The build: its version in a label; always 1.\n");
  out.append("# TYPE ").append(name).append(" gauge\n");
  out.append(name).append("{version=\"").append(build_version()).append("\"} 1\n");
  return out;
}

std::string_view build_version() { return ROUTING_VERSION; }

}  // namespace routing::admin
