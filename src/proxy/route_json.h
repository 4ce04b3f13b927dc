#pragma once
// routerd's per-call JSON without a document tree: ROUTE arguments are read
// by a single-pass scanner and answers are written straight into a string.
// Profiling showed Boost.JSON's tree (allocations, lookups) costing a quarter
// of routerd's instructions per call. The scanner only accepts what it fully
// understands; anything else (an error, an unusual shape) is left to the
// Boost.JSON path, which gives the clear error message. The two are checked
// against each other by unit tests and a fuzz target.
#include "proxy/route_args.h"

#include <optional>
#include <string>
#include <string_view>

namespace routing::proxy {

// The arguments when `json` is a valid ROUTE argument object of the common
// shape (no duplicate fields, no nested values); nullopt otherwise, in which
// case parse_route_args decides (and explains).
std::optional<RouteArgs> scan_route_args(std::string_view json);
// The same into `out`, whose strings keep their capacity (routerd reuses one
// RouteArgs per thread: no allocation per call); false where the above gives
// nullopt (`out` is then unspecified).
bool scan_route_args(std::string_view json, RouteArgs& out);

// Appends `text` (valid UTF-8) as a JSON string, quotes included, escaping
// as Boost.JSON's serializer does.
void append_json_string(std::string& out, std::string_view text);

// How many bytes append_json_string(text) writes once the line protocol has
// escaped them in turn (each backslash doubled): what the JSON string costs
// in a frame line. Computed without writing it: an answer of control bytes
// grows 7-fold, and routerd decides its form before writing it.
std::size_t json_string_line_bytes(std::string_view text);

}  // namespace routing::proxy
