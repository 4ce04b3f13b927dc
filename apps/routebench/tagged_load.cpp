#include "tagged_load.h"

#include "bench_stream.h"

#include "rpc/codec.h"


#include <charconv>
#include <stdexcept>
#include <unordered_map>

namespace routing::bench {
namespace {

using Clock = std::chrono::steady_clock;

// "<status>#<id>:...": the status and id, or false for any other line.
bool parse_answer(std::string_view line, std::uint32_t& status, std::uint64_t& id) {
  std::size_t hash = line.find('#');
  std::size_t colon = line.find(':');
  if (hash == std::string_view::npos || colon == std::string_view::npos || colon < hash) return false;
  auto status_end = std::from_chars(line.data(), line.data() + hash, status);
  auto id_end = std::from_chars(line.data() + hash + 1, line.data() + colon, id);
  return status_end.ec == std::errc{} && id_end.ec == std::errc{};
}

}  // namespace

LoadCounts run_tagged_connection(const TaggedLoad& load, Clock::time_point measure_from, Clock::time_point end) {
  BenchStream stream(load.address, load.tls);
  const std::string escaped = rpc::escape(load.payload);
  const std::string prefix = std::to_string(load.procedure) + "#";
  std::unordered_map<std::uint64_t, Clock::time_point> sent_at;
  std::uint64_t next_id = 0;
  std::string out;
  auto add_call = [&](Clock::time_point now) {
    char digits[24];
    auto id_end = std::to_chars(digits, digits + sizeof digits, ++next_id).ptr;
    out.append(prefix).append(digits, id_end).append(":").append(escaped).append("\n");
    sent_at.emplace(next_id, now);
  };
  LoadCounts counts;
  for (unsigned i = 0; i < load.in_flight; ++i) add_call(Clock::now());
  std::string buffer;
  char chunk[65536];
  bool alive = stream.send_all(out);
  while (alive && !sent_at.empty()) {
    long n = stream.receive(chunk, sizeof chunk);
    if (n <= 0) break;
    buffer.append(chunk, static_cast<std::size_t>(n));
    const auto now = Clock::now();
    out.clear();
    std::size_t begin = 0;
    for (std::size_t newline; (newline = buffer.find('\n', begin)) != std::string::npos; begin = newline + 1) {
      std::uint32_t status = 0;
      std::uint64_t id = 0;
      auto it = parse_answer(std::string_view(buffer).substr(begin, newline - begin), status, id)
                    ? sent_at.find(id) : sent_at.end();
      if (it == sent_at.end()) continue;  // not one of ours (an untagged error): the call's own answer ends it
      if (it->second >= measure_from) {
        counts.latencies_us.push_back(std::chrono::duration<double, std::micro>(now - it->second).count());
        (status == 0 ? counts.ok : counts.failed)++;
      }
      sent_at.erase(it);
      if (now < end) add_call(now);
    }
    buffer.erase(0, begin);
    if (!out.empty()) alive = stream.send_all(out);
  }
  for (const auto& [id, when] : sent_at) {
    if (when >= measure_from && when < end) ++counts.failed;  // lost: no answer
  }
  return counts;
}

}  // namespace routing::bench
