// libFuzzer target: arbitrary bytes as the book's payloads (CONTRACT §12).
// Never crash; a struct that parses has fields whose names are names; every
// string value read, written again, reads back the same; the book's ROUTE
// and SET_STRATEGY readers either accept or say why.
#include "book/normalization.h"
#include "proxy/book_requests.h"

#include <cstdint>
#include <cstdlib>
#include <string_view>

using namespace routing;

namespace {
void check(bool condition) {
  if (!condition) std::abort();
}
}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  std::string_view input(reinterpret_cast<const char*>(data), size);
  std::string error;
  if (auto fields = book::parse_struct(input, error)) {
    for (const auto& [name, raw] : *fields) {
      check(!name.empty());
      if (auto value = book::string_value(raw)) {
        auto again = book::string_value(book::quoted(*value));
        check(again && *again == *value);
        auto text = book::Writer().string(name, *value).finish();
        auto reread = book::parse_struct(text, error);
        check(reread && reread->size() == 1);
      }
    }
  } else {
    check(!error.empty());
  }
  proxy::RouteArgs args;
  if (auto refused = proxy::parse_book_route(input, args)) check(!refused->empty());
  auto strategy = proxy::parse_book_set_strategy(input);
  if (!strategy.error.empty()) check(strategy.strategy.empty());
  return 0;
}
