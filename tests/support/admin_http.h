#pragma once
// Reading a server's admin endpoint in tests: its port from the
// "admin endpoint on http://HOST:PORT" log line, a GET, and the samples of a
// Prometheus text page by series (name plus labels, as written).
#include "support/raw_socket.h"

#include <gtest/gtest.h>

#include <cstdint>
#include <ctime>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

namespace routing::test {

inline std::optional<std::uint16_t> admin_port_in(const std::string& log) {
  std::smatch match;
  if (!std::regex_search(log, match, std::regex(R"(admin endpoint on https?://[^ \n]*:(\d+))"))) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoi(match[1]));
}

// The whole answer (status line, headers and body).
inline std::string admin_get(std::uint16_t port, const std::string& path) {
  RawSocket http(port);
  http.send("GET " + path + " HTTP/1.0\r\n\r\n");
  return http.read_all();
}

// The status code of the answer, 0 when there was none.
inline int admin_status(std::uint16_t port, const std::string& path) {
  std::string answer = admin_get(port, path);
  return answer.size() > 12 ? std::atoi(answer.c_str() + 9) : 0;
}

// "series value" lines of a /metrics answer, comments skipped.
inline std::map<std::string, double> metric_samples(const std::string& answer) {
  std::map<std::string, double> samples;
  auto body = answer.find("\r\n\r\n");
  std::istringstream in(body == std::string::npos ? answer : answer.substr(body + 4));
  for (std::string line; std::getline(in, line);) {
    if (line.empty() || line[0] == '#') continue;
    auto space = line.rfind(' ');
    if (space == std::string::npos) continue;
    samples[line.substr(0, space)] = std::strtod(line.c_str() + space + 1, nullptr);
  }
  return samples;
}

// The standard process_* figures of a server's /metrics are there and plausible.
inline void expect_plausible_process_figures(std::map<std::string, double>& samples) {
  EXPECT_GT(samples["process_open_fds"], 3);
  EXPECT_GT(samples["process_max_fds"], samples["process_open_fds"]);
  EXPECT_GT(samples["process_resident_memory_bytes"], 1e5);
  EXPECT_GE(samples["process_virtual_memory_bytes"], samples["process_resident_memory_bytes"]);
  EXPECT_GE(samples["process_cpu_seconds_total"], 0);
  const double now = static_cast<double>(std::time(nullptr));
  EXPECT_LE(samples["process_start_time_seconds"], now + 1);
  EXPECT_GT(samples["process_start_time_seconds"], now - 3600);
}

}  // namespace routing::test
