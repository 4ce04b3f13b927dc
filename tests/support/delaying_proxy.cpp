#include "support/delaying_proxy.h"

#include "support/raw_socket.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

namespace routing::test {
namespace {

bool send_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    ssize_t n = ::send(fd, data, size, MSG_NOSIGNAL);
    if (n <= 0) return false;
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

// Copies `from` to `to` until either side ends; `before_first` runs on the
// first chunk read, before it is passed on.
template <typename BeforeFirst>
void pump(int from, int to, BeforeFirst before_first) {
  char buffer[16384];
  bool first = true;
  for (;;) {
    ssize_t n = ::recv(from, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    if (first) before_first(std::string_view(buffer, static_cast<std::size_t>(n)));
    first = false;
    if (!send_all(to, buffer, static_cast<std::size_t>(n))) break;
  }
  ::shutdown(to, SHUT_WR);
}

}  // namespace

DelayingProxy::DelayingProxy(std::uint16_t upstream_port, std::string marker, std::chrono::milliseconds delay)
    : upstream_port_(upstream_port), marker_(std::move(marker)), delay_(delay) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t length = sizeof addr;
  if (::bind(listener_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 || ::listen(listener_, 64) != 0 ||
      ::getsockname(listener_, reinterpret_cast<sockaddr*>(&addr), &length) != 0) {
    return;  // port() stays 0
  }
  port_ = ntohs(addr.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

DelayingProxy::~DelayingProxy() {
  ::shutdown(listener_, SHUT_RDWR);  // ends accept()
  if (acceptor_.joinable()) acceptor_.join();
  {
    std::lock_guard lock(mutex_);
    for (int fd : fds_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& connection : connections_) connection.join();
  for (int fd : fds_) ::close(fd);
  ::close(listener_);
}

void DelayingProxy::keep(int fd) {
  std::lock_guard lock(mutex_);
  fds_.push_back(fd);
}

void DelayingProxy::accept_loop() {
  for (;;) {
    int client = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (client < 0) return;
    keep(client);
    connections_.emplace_back([this, client] { serve(client); });
  }
}

void DelayingProxy::serve(int client) {
  int upstream = connect_loopback(upstream_port_);
  if (upstream < 0) return;
  keep(upstream);
  std::atomic<bool> held{false};
  std::thread requests([&] {
    pump(client, upstream, [&](std::string_view chunk) { held = chunk.find(marker_) != std::string_view::npos; });
  });
  pump(upstream, client, [&](std::string_view) {
    if (held) std::this_thread::sleep_for(delay_);
  });
  requests.join();
}

}  // namespace routing::test
