#include "common/span_log.h"

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include <fcntl.h>
#include <unistd.h>

namespace routing::common {
namespace {

int open_for_append(const std::string& path) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
}

// Span fields are ids, names and addresses: escape what JSON needs anyway.
void append_json_string(std::string& out, std::string_view text) {
  out.push_back('"');
  for (char c : text) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      constexpr char hex[] = "0123456789abcdef";
      out += "\\u00";
      out.push_back(hex[(c >> 4) & 0xf]);
      out.push_back(hex[c & 0xf]);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

void append_field(std::string& out, std::string_view key, std::string_view value) {
  if (out.size() > 1) out.push_back(',');  // after "{" and a field
  append_json_string(out, key);
  out.push_back(':');
  append_json_string(out, value);
}

void append_number(std::string& out, std::string_view key, long long value) {
  out.push_back(',');
  append_json_string(out, key);
  out.push_back(':');
  out += std::to_string(value);
}

}  // namespace

SpanLog::SpanLog(const std::string& path, std::string service) : path_(path), service_(std::move(service)) {
  fd_ = open_for_append(path);
  if (fd_ < 0) throw std::runtime_error("cannot open trace log " + path + ": " + std::strerror(errno));
}

SpanLog::~SpanLog() {
  if (fd_ >= 0) ::close(fd_);
}

void SpanLog::record(const Span& span) {
  using namespace std::chrono;
  std::string line = "{";
  append_field(line, "trace_id", span.trace_id);
  append_field(line, "span_id", span.span_id);
  append_field(line, "parent_span_id", span.parent_span_id);
  append_field(line, "kind", span.kind);
  append_field(line, "service", service_);
  append_field(line, "name", span.name);
  append_field(line, "peer", span.peer);
  append_number(line, "start_unix_us", duration_cast<microseconds>(span.start.time_since_epoch()).count());
  append_number(line, "duration_us", duration_cast<microseconds>(span.duration).count());
  append_number(line, "status", span.status);
  line += "}\n";
  std::lock_guard lock(mutex_);
  // One write of the whole line: with O_APPEND, lines of several writers
  // never interleave. A failed write loses the span, never the call.
  [[maybe_unused]] auto written = ::write(fd_, line.data(), line.size());
}

std::optional<std::string> SpanLog::reopen() {
  int fresh = open_for_append(path_);
  if (fresh < 0) return "cannot open trace log " + path_ + ": " + std::strerror(errno);
  std::lock_guard lock(mutex_);
  ::close(fd_);
  fd_ = fresh;
  return std::nullopt;
}

}  // namespace routing::common
