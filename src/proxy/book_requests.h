#pragma once
// routerd's side of the book's routing service (CONTRACT §12, docs/book.md):
// its ROUTE {name: "echo",procedure_id: 1,payload: "..."} and SET_STRATEGY
// {strategy: "pick-2"} in the normalization format, and the bare answers
// the book's clients read.
#include "proxy/route_args.h"

#include <routing/reply.h>

#include <optional>
#include <string>
#include <string_view>

namespace routing::proxy {

// The book's ROUTE arguments into `out` (every field set; options at their
// defaults: the book's requests carry none): the reason they are invalid,
// or nullopt.
std::optional<std::string> parse_book_route(std::string_view text, RouteArgs& out);

// The book's SET_STRATEGY: the strategy's name, or the reason it is invalid.
struct BookStrategy {
  std::string strategy;
  std::string error;
};
BookStrategy parse_book_set_strategy(std::string_view text);

// What a book client reads for a call's outcome: the payload of an answer
// with status 0; else the words the book's services use where there are
// some (its clients retry on them): 4 "Operation timed out", 12 "Unknown
// procedure", 14 "Service not available" (also routerd's own 5: a system
// with no backends); else the error's own text.
std::string_view book_answer(const Reply& reply, bool from_backend);

}  // namespace routing::proxy
