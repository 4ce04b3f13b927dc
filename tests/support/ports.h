#pragma once
// A loopback port nothing listens on right now, for a server a test starts
// later on a port it must know first (etcd, a restart on the same port).
//
// Drawn below the kernel's ephemeral range (32768..60999 here), not by
// binding to port 0: a port from that range can be taken, between the check
// and the server's bind, as the source port of any outgoing connection of a
// test running beside (etcd failed "bind: address already in use" in CI).
// Ports below the range are only ever taken by listeners that ask for them.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cstdint>
#include <random>

namespace routing::test {

inline std::uint16_t free_port() {
  static std::mt19937 draw{std::random_device{}()};
  std::uniform_int_distribution<int> below_ephemeral(12000, 32000);
  for (;;) {
    const auto port = static_cast<std::uint16_t>(below_ephemeral(draw));
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    int on = 1;
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on);  // as the servers bind
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(port);
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
    ::close(fd);
    if (free) return port;
  }
}

}  // namespace routing::test
