#pragma once
// The opt-in access log: one JSON line per call, refused calls included.
// Lines are handed to a background thread (spdlog's async logger) and
// written there, so the file never stalls a call; if the writer falls
// behind, the oldest lines queued are dropped rather than blocking.
// docs/operations.md, "Access log".
#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace spdlog {
class logger;
namespace details {
class thread_pool;
}
}  // namespace spdlog

namespace routing::proxy {

class ReopenableFileSink;

struct AccessEntry {
  std::string_view peer;
  std::string_view system;  // empty when the request named none (it did not parse)
  std::uint32_t procedure = 0;
  int status = 0;
  bool from_backend = false;
  std::chrono::microseconds duration{0};
  std::size_t request_bytes = 0;
  std::size_t response_bytes = 0;
  std::string_view backend;       // the backend of the last attempt; empty if none was tried
  unsigned attempts = 0;          // backends tried (resends included)
  std::string_view error;         // routerd's own refusal, when it answered non-zero itself
  std::string_view request_id;    // the caller's request-id (tagged frames); else one is made up
  std::string_view trace_id;      // from the caller's traceparent, if any
  std::uint64_t call_id = 0;      // the tagged call's id on its connection; 0 for the line form
  std::string_view identity;      // the caller's, from its verified client certificate; empty without one
};

class AccessLog {
 public:
  // `path`: a file to append to, "-" for stderr, empty for no log. Throws
  // when the file cannot be opened.
  explicit AccessLog(const std::string& path);
  ~AccessLog();
  bool enabled() const { return logger_ != nullptr; }
  void record(const AccessEntry& entry);

  // Log rotation (SIGUSR1): the file is opened again by its name, so lines
  // go to a new file once the old one was moved away. A failure keeps the
  // old file and is returned. Nothing to do for stderr or no log.
  std::optional<std::string> reopen();
  // A reload naming another file: lines go there from now on. Turning the
  // log on or off, or to or from stderr, needs a restart (returned as the
  // reason); so does a file that cannot be opened (the old one stays).
  std::optional<std::string> move_to(const std::string& path);
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::shared_ptr<ReopenableFileSink> file_;  // null for stderr or no log
  // A writer thread of our own (not spdlog's global pool): stopping it on
  // destruction writes every queued line and joins the thread before the
  // logger and its file go away.
  std::shared_ptr<spdlog::details::thread_pool> writer_;
  std::shared_ptr<spdlog::logger> logger_;
  std::string id_prefix_;  // request ids: this process's random prefix, then a count
  std::atomic<std::uint64_t> next_id_{0};
};

}  // namespace routing::proxy
