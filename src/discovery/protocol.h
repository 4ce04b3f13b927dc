#pragma once
// discoveryd's procedures and limits (CONTRACT §2).
#include <chrono>
#include <cstddef>
#include <cstdint>

namespace routing::discovery {

inline constexpr std::uint32_t register_procedure = 1;
inline constexpr std::uint32_t query_procedure = 2;
inline constexpr std::uint32_t list_procedure = 3;
inline constexpr std::uint32_t deregister_procedure = 4;

inline constexpr std::int64_t default_ttl_ms = 10'000;
// A draining discoveryd's answer (status 14) to LIST: the watcher reconnects,
// to the successor on the same port. A routine restart, not a failure.
inline constexpr std::string_view draining_reply = "discoveryd is draining: reconnect (to its successor)";
inline constexpr std::int64_t max_ttl_ms = 604'800'000;  // one week
inline constexpr std::int64_t max_wait_ms = 300'000;     // longer long polls are capped
inline constexpr std::size_t max_name_bytes = 1024;
// LIST with "names" (an extension beyond CONTRACT §2): longer lists get 3.
inline constexpr std::size_t default_max_watch_names = 10'000;

}  // namespace routing::discovery
