// sd_notify from the servers (src/app/service_notify.cpp): the test plays
// systemd, binding the unix datagram socket NOTIFY_SOCKET names, and checks
// what each server says and when.
#include "support/process.h"
#include <arpa/inet.h>
#include <netinet/in.h>

#include <gtest/gtest.h>

#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <optional>
#include <regex>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

// The service manager's end: one datagram per notification.
class NotifySocket {
 public:
  NotifySocket() {
    path_ = (std::filesystem::temp_directory_path() / ("notify-" + std::to_string(::getpid()) + "-" +
                                                        std::to_string(counter_++)))
                .string();
    fd_ = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path_.c_str());
    ::unlink(path_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) ADD_FAILURE() << "bind " << path_;
  }
  ~NotifySocket() {
    ::close(fd_);
    ::unlink(path_.c_str());
  }
  std::string env() const { return "NOTIFY_SOCKET=" + path_; }

  // The next notification, or nullopt after `timeout`.
  std::optional<std::string> next(std::chrono::milliseconds timeout = 10s) {
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(timeout.count())) != 1) return std::nullopt;
    char buffer[4096];
    ssize_t n = ::recv(fd_, buffer, sizeof buffer, 0);
    if (n < 0) return std::nullopt;
    return std::string(buffer, static_cast<std::size_t>(n));
  }

 private:
  static inline int counter_ = 0;
  std::string path_;
  int fd_ = -1;
};

std::optional<std::uint16_t> logged_port(const Process& process) {
  static const std::regex listening(R"(listening on [^ \n]*:(\d+))");
  std::smatch match;
  std::string text = process.log();
  if (!std::regex_search(text, match, listening)) return std::nullopt;
  return static_cast<std::uint16_t>(std::stoi(match[1]));
}

bool accepts(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0;
  ::close(fd);
  return ok;
}

// Ready once accepting; reloading then ready again around SIGHUP; stopping
// at SIGTERM, before it exits.
void expect_life_cycle(const std::string& program, std::vector<std::string> args) {
  NotifySocket manager;
  Process server(program, std::move(args), {manager.env()});
  auto ready = manager.next();
  ASSERT_EQ(ready, "READY=1") << server.log();
  auto port = logged_port(server);  // logged before READY=1, and accepting
  ASSERT_TRUE(port) << server.log();
  EXPECT_TRUE(accepts(*port));

  server.signal(SIGHUP);
  auto reloading = manager.next();
  ASSERT_TRUE(reloading) << server.log();
  EXPECT_TRUE(std::regex_match(*reloading, std::regex("RELOADING=1\nMONOTONIC_USEC=[0-9]+"))) << *reloading;
  EXPECT_EQ(manager.next(), "READY=1") << server.log();

  server.signal(SIGTERM);
  EXPECT_EQ(manager.next(), "STOPPING=1") << server.log();
  EXPECT_EQ(server.wait_exit(), 0) << server.log();
  EXPECT_EQ(manager.next(200ms), std::nullopt);
}

TEST(ServiceNotify, RouterdTellsTheServiceManager) {
  expect_life_cycle(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery",
                                   "static://echo=127.0.0.1:1", "--health-check-interval-ms", "0"});
}

TEST(ServiceNotify, DiscoverydTellsTheServiceManager) {
  expect_life_cycle(DISCOVERYD_PATH, {"--listen", "127.0.0.1:0"});
}

TEST(ServiceNotify, NothingIsSentWithoutNotifySocket) {
  // The common case off systemd: the server runs as before.
  Process server(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery",
                                "static://echo=127.0.0.1:1"});
  ASSERT_TRUE(server.wait_listening()) << server.log();
  EXPECT_EQ(server.log().find("sd_notify"), std::string::npos) << server.log();
  server.signal(SIGTERM);
  EXPECT_EQ(server.wait_exit(), 0) << server.log();
}

}  // namespace
}  // namespace routing::test
