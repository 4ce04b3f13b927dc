#pragma once
// Reading a server's admin endpoint in tests: its port from the
// "admin endpoint on http://HOST:PORT" log line, a GET, and the samples of a
// Prometheus text page by series (name plus labels, as written).
#include "support/raw_socket.h"

#include <cstdint>
#include <map>
#include <optional>
#include <regex>
#include <sstream>
#include <string>

namespace routing::test {

inline std::optional<std::uint16_t> admin_port_in(const std::string& log) {
  std::smatch match;
  if (!std::regex_search(log, match, std::regex(R"(admin endpoint on http://[^ \n]*:(\d+))"))) return std::nullopt;
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

}  // namespace routing::test
