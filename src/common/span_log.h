#pragma once
// Spans as JSON lines (`--trace-log FILE`, RouterOptions::trace_log): enough
// to follow one call by its trace id across routerd and a backend without a
// tracing system. One line per span of a tagged call (CONTRACT §8; one
// without a valid traceparent starts a trace):
//   {"trace_id":"…","span_id":"…","parent_span_id":"…","kind":"server"|"client",
//    "service":"…","name":"…","peer":"…","start_unix_us":N,"duration_us":N,"status":N}
// A server span is one tagged call served; a client span is one call the
// router sent on (its span id is the parent the backend sees). Lines are
// written whole with O_APPEND (several writers may share a file) by the
// thread that ends the span: tracing is opt-in and costs a write per span.
#include <chrono>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

namespace routing::common {

struct Span {
  std::string_view trace_id;
  std::string_view span_id;
  std::string_view parent_span_id;
  std::string_view kind;  // "server" or "client"
  std::string_view name;
  std::string_view peer;
  std::chrono::system_clock::time_point start;
  std::chrono::steady_clock::duration duration{};
  int status = 0;
};

class SpanLog {
 public:
  // Opens (creates) `path` for appending; throws std::runtime_error saying
  // why when it cannot.
  SpanLog(const std::string& path, std::string service);
  ~SpanLog();
  SpanLog(const SpanLog&) = delete;
  SpanLog& operator=(const SpanLog&) = delete;

  void record(const Span& span);
  // Log rotation: opens the file again by its name (the old one may have
  // been moved away). A failure keeps the old file and is returned.
  std::optional<std::string> reopen();
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  std::string service_;
  std::mutex mutex_;
  int fd_ = -1;
};

}  // namespace routing::common
