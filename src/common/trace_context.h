#pragma once
// W3C Trace Context (https://www.w3.org/TR/trace-context/), the
// `traceparent` key of tagged frames (CONTRACT §8):
// "<version 2 hex>-<trace id 32 hex>-<parent span id 16 hex>-<flags 2 hex>".
#include <optional>
#include <string>
#include <string_view>

namespace routing::common {

struct TraceParent {
  std::string_view version;
  std::string_view trace_id;
  std::string_view parent_id;
  std::string_view flags;
};

// The fields of a valid traceparent (lower-case hex, ids not all zero,
// version not "ff"), viewing `text`; nullopt for anything else (a caller's
// invalid traceparent is then not passed on, as the spec asks).
std::optional<TraceParent> parse_traceparent(std::string_view text);

// The same trace with `span_id` (16 hex) as the parent: what a hop passes on.
std::string child_traceparent(const TraceParent& parent, std::string_view span_id);

// The first hop of a new trace: "00-<trace_id>-<span_id>-01" (sampled).
std::string root_traceparent(std::string_view trace_id, std::string_view span_id);

// A new random span id (16 lower-case hex, not all zero), and trace id (32).
std::string new_span_id();
std::string new_trace_id();

}  // namespace routing::common
