#include "proxy/access_log.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>
#include <fmt/format.h>
#include <spdlog/async.h>
#include <spdlog/details/file_helper.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <mutex>
#include <random>

namespace routing::proxy {

// spdlog's basic_file_sink cannot open its file again; this one can, under
// the sink's own lock, between two lines (the writer thread holds it while
// writing one).
class ReopenableFileSink final : public spdlog::sinks::base_sink<std::mutex> {
 public:
  explicit ReopenableFileSink(const std::string& path) : file_(std::make_unique<spdlog::details::file_helper>()) {
    file_->open(path);
  }

  // Opens `path` (appending) and writes there from the next line on; on
  // failure the current file stays. The error, or nullopt.
  std::optional<std::string> open(const std::string& path) {
    auto next = std::make_unique<spdlog::details::file_helper>();
    try {
      next->open(path);
    } catch (const std::exception& e) {
      return std::string(e.what());
    }
    std::unique_ptr<spdlog::details::file_helper> old;
    {
      std::lock_guard lock(mutex_);
      try {
        file_->flush();  // the old file's last lines; a failing disk must not stop the switch
      } catch (const std::exception&) {
      }
      old = std::exchange(file_, std::move(next));
    }
    return std::nullopt;  // `old` closes here, outside the lock
  }

 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    spdlog::memory_buf_t line;
    formatter_->format(msg, line);
    file_->write(line);
  }
  void flush_() override { file_->flush(); }

 private:
  std::unique_ptr<spdlog::details::file_helper> file_;  // under base_sink's mutex_
};

namespace {

std::string random_prefix() {
  std::random_device seed;
  return fmt::format("{:08x}", seed());
}

}  // namespace

AccessLog::AccessLog(const std::string& path) : path_(path), id_prefix_(random_prefix()) {
  if (path.empty()) return;
  writer_ = std::make_shared<spdlog::details::thread_pool>(65536, 1);
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (path == "-") {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    file_ = std::make_shared<ReopenableFileSink>(path);  // throws if it cannot open
    sink = file_;
  }
  logger_ = std::make_shared<spdlog::async_logger>("access", sink, writer_,
                                                   spdlog::async_overflow_policy::overrun_oldest);
  logger_->set_pattern("%v");
  logger_->set_level(spdlog::level::info);
  logger_->flush_on(spdlog::level::info);
}

AccessLog::~AccessLog() {
  if (!logger_) return;
  logger_->flush();
  writer_.reset();  // the thread writes what is queued, then is joined
  logger_.reset();
}

std::optional<std::string> AccessLog::reopen() {
  if (!file_) return std::nullopt;
  return file_->open(path_);
}

std::optional<std::string> AccessLog::move_to(const std::string& path) {
  if (path == path_) return std::nullopt;
  if (!file_ || path.empty() || path == "-") return "turning the access log on or off, or to or from stderr";
  if (auto error = file_->open(path)) return "cannot open " + path + ": " + *error;
  path_ = path;
  return std::nullopt;
}

void AccessLog::record(const AccessEntry& entry) {
  if (!logger_) return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  boost::json::object line{{"ts_ms", ms},
                           {"request_id", entry.request_id.empty()
                                              ? fmt::format("{}-{:x}", id_prefix_, next_id_.fetch_add(1) + 1)
                                              : std::string(entry.request_id)},
                           {"peer", entry.peer},
                           {"system", entry.system},
                           {"procedure", entry.procedure},
                           {"status", entry.status},
                           {"by", entry.from_backend ? "backend" : "router"},
                           {"duration_us", entry.duration.count()},
                           {"request_bytes", entry.request_bytes},
                           {"response_bytes", entry.response_bytes},
                           {"attempts", entry.attempts}};
  if (!entry.backend.empty()) line["backend"] = entry.backend;
  if (!entry.error.empty()) line["error"] = entry.error;
  if (!entry.trace_id.empty()) line["trace_id"] = entry.trace_id;
  if (entry.call_id != 0) line["call_id"] = entry.call_id;
  if (!entry.identity.empty()) line["identity"] = entry.identity;
  logger_->info(boost::json::serialize(line));
}

}  // namespace routing::proxy
