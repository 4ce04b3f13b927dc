#pragma once
// Which systems' backends are the book's services (CONTRACT §12): the one
// rule, for the router core and its checks. Those named, when some are;
// else, with the book's discovery, every system (name them to keep our own
// servers found there on our protocol).
#include <routing/router.h>

#include <algorithm>
#include <string_view>

namespace routing::book {

inline bool speaks_book(const RouterOptions& options, std::string_view system) {
  if (options.book_systems.empty()) return options.discovery.starts_with("book://");
  return std::find(options.book_systems.begin(), options.book_systems.end(), system) != options.book_systems.end();
}

}  // namespace routing::book
