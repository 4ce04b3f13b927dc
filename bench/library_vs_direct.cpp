// Library mode against direct calls, in one run on the same echod:
// N callers (threads) in a closed loop for a fixed time each way.
//   library_vs_direct ECHOD_ADDRESS [callers=16] [seconds=3] [payload_bytes=16] [pool_size=callers] [line]
// Direct: each caller owns a blocking socket to echod (the cheapest client).
// Library: each caller uses one shared routing::Router (router.call).
// `line`: the router's backend connections on the line protocol
// (tagged_frames off), to compare with the default tagged frames.
// pool_size: the router's pool size, a number, or 'default' for
// RouterOptions{}'s (what users start with: fewer slots than callers here
// means callers wait for one); left out, as many as the callers, so the pool
// never limits them (as before the argument existed, and as routebench).
#include <routing/router.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

struct Result {
  double calls_per_second = 0;
  double p50_us = 0, p99_us = 0;
  std::size_t errors = 0;
};

Result summarize(std::vector<std::vector<double>>& per_thread, std::size_t errors, double seconds) {
  std::vector<double> all;
  for (auto& v : per_thread) all.insert(all.end(), v.begin(), v.end());
  std::sort(all.begin(), all.end());
  Result r;
  r.errors = errors;
  r.calls_per_second = all.size() / seconds;
  if (!all.empty()) {
    r.p50_us = all[all.size() / 2];
    r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  }
  return r;
}

template <typename Call>
Result run(int callers, double seconds, Call make_caller) {
  std::vector<std::vector<double>> latencies(callers);
  std::atomic<std::size_t> errors{0};
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  for (int i = 0; i < callers; ++i) {
    threads.emplace_back([&, i] {
      auto call = make_caller();
      while (!stop.load(std::memory_order_relaxed)) {
        auto start = Clock::now();
        bool ok = call();
        latencies[i].push_back(std::chrono::duration<double, std::micro>(Clock::now() - start).count());
        if (!ok) ++errors;
      }
    });
  }
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  return summarize(latencies, errors, seconds);
}

int connect_to(const std::string& address) {
  auto colon = address.rfind(':');
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(std::stoi(address.substr(colon + 1))));
  inet_pton(AF_INET, address.substr(0, colon).c_str(), &addr.sin_addr);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) return -1;
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return fd;
}

// "default" (RouterOptions{}'s pool size) or a number >= 1; nullopt otherwise.
std::optional<std::size_t> parse_pool_size(const std::string& value) {
  if (value == "default") return routing::RouterOptions{}.pool_size;
  std::size_t size = 0;
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), size);
  if (ec != std::errc{} || end != value.data() + value.size() || size < 1) return std::nullopt;
  return size;
}

void print(const char* name, const Result& r) {
  std::printf("%-10s %10.0f calls/s   p50 %7.1f us   p99 %7.1f us   errors %zu\n", name, r.calls_per_second,
              r.p50_us, r.p99_us, r.errors);
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: library_vs_direct ECHOD_ADDRESS [callers] [seconds] [payload_bytes] [pool_size|default] [line]\n");
    return 2;
  }
  std::string address = argv[1];
  int callers = argc > 2 ? std::stoi(argv[2]) : 16;
  double seconds = argc > 3 ? std::stod(argv[3]) : 3;
  std::string payload(argc > 4 ? std::stoul(argv[4]) : 16, 'x');
  std::string frame = "1:" + payload + "\n";
  auto pool_size = argc > 5 ? parse_pool_size(argv[5]) : std::optional<std::size_t>(callers);
  if (!pool_size) {
    std::fprintf(stderr, "library_vs_direct: pool_size must be 'default' or a number >= 1, not '%s'\n", argv[5]);
    return 2;
  }

  auto direct = run(callers, seconds, [&] {
    int fd = connect_to(address);
    return [fd, &frame, buffer = std::string(65536, '\0')]() mutable {
      if (send(fd, frame.data(), frame.size(), MSG_NOSIGNAL) != static_cast<ssize_t>(frame.size())) return false;
      std::size_t got = 0;
      for (;;) {
        ssize_t n = recv(fd, buffer.data() + got, buffer.size() - got, 0);
        if (n <= 0) return false;
        got += static_cast<std::size_t>(n);
        if (buffer[got - 1] == '\n') return buffer[0] == '0';
      }
    };
  });

  routing::RouterOptions options;
  options.discovery = "static://echo=" + address;
  options.pool_size = *pool_size;
  options.tagged_frames = !(argc > 6 && std::string(argv[6]) == "line");
  options.health_check_interval = std::chrono::milliseconds(0);
  routing::Router router(options);
  router.call("echo", 1, "warm-up");
  auto library = run(callers, seconds, [&] {
    return [&] { return router.call("echo", 1, payload).ok(); };
  });

  std::printf("%d callers, %.1f s each, %zu-byte payloads, echod at %s, library pool size %zu, %s\n", callers,
              seconds, payload.size(), address.c_str(), *pool_size,
              options.tagged_frames ? "tagged frames" : "line protocol");
  print("direct", direct);
  print("library", library);
  std::printf("library/direct calls/s ratio: %.2f   p99 ratio: %.2f\n",
              library.calls_per_second / direct.calls_per_second, library.p99_us / direct.p99_us);
  return 0;
}
