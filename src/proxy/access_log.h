#pragma once
// The opt-in access log: one JSON line per call. Lines are handed to a
// background thread (spdlog's async logger) and written there, so the file
// never stalls a call; if the writer falls behind, the oldest lines queued
// are dropped rather than blocking.
#include <chrono>
#include <memory>
#include <string>

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
}  // namespace spdlog

namespace routing::proxy {

struct AccessEntry {
  std::string peer;
  std::string system;
  std::uint32_t procedure = 0;
  int status = 0;
  bool from_backend = false;
  std::chrono::microseconds duration{0};
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0;
};

class AccessLog {
 public:
  // `path`: a file to append to, "-" for stderr, empty for no log.
  explicit AccessLog(const std::string& path);
  ~AccessLog();
  bool enabled() const { return logger_ != nullptr; }
  void record(const AccessEntry& entry);

 private:
  // A writer thread of our own (not spdlog's global pool): stopping it on
  // destruction writes every queued line and joins the thread before the
  // logger and its file go away.
  std::shared_ptr<spdlog::details::thread_pool> writer_;
  std::shared_ptr<spdlog::logger> logger_;
};

}  // namespace routing::proxy
