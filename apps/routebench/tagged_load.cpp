#include "tagged_load.h"

#include "rpc/address.h"
#include "rpc/codec.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <charconv>
#include <stdexcept>
#include <unordered_map>

namespace routing::bench {
namespace {

using Clock = std::chrono::steady_clock;

int connect_to(const std::string& address) {
  auto endpoint = rpc::resolve_endpoint(address);
  int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM, 0);
  if (fd < 0 || ::connect(fd, endpoint.data(), endpoint.size()) != 0) {
    if (fd >= 0) ::close(fd);
    throw std::runtime_error("cannot connect to " + address);
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval timeout{.tv_sec = 10, .tv_usec = 0};  // the run is bounded even if the peer goes silent
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  return fd;
}

bool send_all(int fd, const std::string& bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    ssize_t n = ::send(fd, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

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
  const int fd = connect_to(load.address);
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
  bool alive = send_all(fd, out);
  while (alive && !sent_at.empty()) {
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
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
    if (!out.empty()) alive = send_all(fd, out);
  }
  for (const auto& [id, when] : sent_at) {
    if (when >= measure_from && when < end) ++counts.failed;  // lost: no answer
  }
  ::close(fd);
  return counts;
}

}  // namespace routing::bench
