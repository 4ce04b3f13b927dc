#pragma once
// A TCP proxy on a free loopback port that holds back the answer of every
// connection whose request contains `marker` for `delay`, and passes all
// other traffic at once: for races between two connections to one server
// (e.g. an etcd read answered late while its watch stream runs on).
#include <atomic>
#include <chrono>
#include <cstdint>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace routing::test {

class DelayingProxy {
 public:
  DelayingProxy(std::uint16_t upstream_port, std::string marker, std::chrono::milliseconds delay);
  ~DelayingProxy();
  DelayingProxy(const DelayingProxy&) = delete;
  DelayingProxy& operator=(const DelayingProxy&) = delete;

  std::uint16_t port() const { return port_; }

 private:
  void accept_loop();
  void serve(int client);
  void keep(int fd);

  std::uint16_t upstream_port_;
  std::string marker_;
  std::chrono::milliseconds delay_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::mutex mutex_;
  std::vector<int> fds_;               // closed only at the end: no reuse races
  std::vector<std::thread> connections_;
  std::thread acceptor_;
};

}  // namespace routing::test
