#include "routing/call/call_trace.h"

#include "common/trace_context.h"

namespace routing::core {

void KeptKeys::keep(CallOptions& options, bool start_trace) {
  if (options.traceparent.empty() && options.request_id.empty() && !start_trace) return;
  copy.clear();
  if (auto parent = common::parse_traceparent(options.traceparent)) {
    copy = common::child_traceparent(*parent, common::new_span_id());
    span_parent.assign(parent->parent_id);
    traced = true;
  } else if (start_trace) {
    copy = common::root_traceparent(common::new_trace_id(), common::new_span_id());
    traced = true;
  }
  const std::size_t split = copy.size();
  copy.append(options.request_id);
  const std::string_view kept = copy;
  options.traceparent = kept.substr(0, split);
  options.request_id = kept.substr(split);
}

void record_client_span(common::SpanLog& log, const CallOptions& sent, const KeptKeys& keys,
                        const std::string& system, std::uint32_t procedure, const CallOutcome& outcome,
                        std::chrono::steady_clock::time_point arrival) {
  if (!keys.traced) return;
  auto context = common::parse_traceparent(sent.traceparent);
  if (!context) return;
  const auto now = std::chrono::steady_clock::now();
  const auto start = std::chrono::system_clock::now() -
                     std::chrono::duration_cast<std::chrono::system_clock::duration>(now - arrival);
  const std::string name = system + "/" + std::to_string(procedure);
  log.record(common::Span{.trace_id = context->trace_id, .span_id = context->parent_id,
                          .parent_span_id = keys.span_parent, .kind = "client", .name = name,
                          .peer = outcome.backend ? std::string_view(outcome.backend->address) : "",
                          .start = start, .duration = now - arrival,
                          .status = static_cast<int>(outcome.reply.status)});
}

}  // namespace routing::core
