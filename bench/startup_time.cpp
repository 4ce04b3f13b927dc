// Time from starting routerd to its first routed call answered: forks and
// execs routerd (static discovery, so no discoveryd in the way), connects as
// soon as the port accepts, sends one ROUTE and waits for "0:". Repeats and
// prints the median and the worst run, in milliseconds.
//   startup_time ROUTERD_PATH ECHOD_ADDRESS [runs]
#include "support/ports.h"

#include <algorithm>
#include <arpa/inet.h>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <netinet/in.h>
#include <signal.h>
#include <string>
#include <sys/socket.h>
#include <sys/wait.h>
#include <thread>
#include <unistd.h>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// One ROUTE call on a fresh connection; true when answered with status 0.
bool routed_call(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in address{};
  address.sin_family = AF_INET;
  address.sin_port = htons(static_cast<std::uint16_t>(port));
  address.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = false;
  if (::connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof address) == 0) {
    std::string request = "1:{\"name\":\"echo\",\"procedure_id\":1,\"payload\":\"first\"}\n";
    timeval timeout{2, 0};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    if (::send(fd, request.data(), request.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(request.size())) {
      char answer[256];
      ssize_t n = ::recv(fd, answer, sizeof answer, 0);
      ok = n >= 2 && answer[0] == '0' && answer[1] == ':';
    }
  }
  ::close(fd);
  return ok;
}

double one_run(const char* routerd, const std::string& echod) {
  int port = routing::test::free_port();
  std::string listen = "127.0.0.1:" + std::to_string(port);
  std::string discovery = "static://echo=" + echod;
  auto start = Clock::now();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::freopen("/dev/null", "w", stderr);
    ::execl(routerd, routerd, "--listen", listen.c_str(), "--admin", "127.0.0.1:0", "--discovery", discovery.c_str(),
            static_cast<char*>(nullptr));
    ::_exit(127);
  }
  double ms = -1;
  while (Clock::now() - start < std::chrono::seconds(5)) {
    if (routed_call(port)) {
      ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
      break;
    }
    std::this_thread::sleep_for(std::chrono::microseconds(200));
  }
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: startup_time ROUTERD_PATH ECHOD_HOST:PORT [runs]\n");
    return 2;
  }
  int runs = argc > 3 ? std::max(1, std::atoi(argv[3])) : 10;
  std::vector<double> times;
  for (int i = 0; i < runs; ++i) {
    double ms = one_run(argv[1], argv[2]);
    if (ms < 0) {
      std::fprintf(stderr, "startup_time: routerd never answered\n");
      return 1;
    }
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  std::printf("{\"runs\":%d,\"median_ms\":%.1f,\"max_ms\":%.1f}\n", runs, times[times.size() / 2], times.back());
  return 0;
}
