#include "proxy/access_log.h"

#include <boost/json/serialize.hpp>
#include <boost/json/object.hpp>
#include <spdlog/async.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

namespace routing::proxy {

AccessLog::AccessLog(const std::string& path) {
  if (path.empty()) return;
  writer_ = std::make_shared<spdlog::details::thread_pool>(65536, 1);
  std::shared_ptr<spdlog::sinks::sink> sink;
  if (path == "-") {
    sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
  } else {
    sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(path);  // throws if it cannot open
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

void AccessLog::record(const AccessEntry& entry) {
  if (!logger_) return;
  auto now = std::chrono::system_clock::now();
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count();
  boost::json::object line{{"ts_ms", ms},
                           {"peer", entry.peer},
                           {"system", entry.system},
                           {"procedure", entry.procedure},
                           {"status", entry.status},
                           {"by", entry.from_backend ? "backend" : "router"},
                           {"duration_us", entry.duration.count()},
                           {"request_bytes", entry.request_bytes},
                           {"response_bytes", entry.response_bytes}};
  logger_->info(boost::json::serialize(line));
}

}  // namespace routing::proxy
