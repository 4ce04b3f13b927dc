#pragma once
// What a routed call leaves for tracing (CONTRACT §8), the same for every
// entry path: its client span in the router's span log.
#include "common/span_log.h"
#include "routing/call/call.h"

namespace routing::core {

// The client span of a traced call (KeptKeys::keep made it a child): its
// span id is the parent its backend saw (the middle field of the traceparent
// it sent). Nothing for a call that was not traced.
void record_client_span(common::SpanLog& log, const CallOptions& sent, const KeptKeys& keys,
                        const std::string& system, std::uint32_t procedure, const CallOutcome& outcome,
                        std::chrono::steady_clock::time_point arrival);

}  // namespace routing::core
