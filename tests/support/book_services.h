#pragma once
// Stand-ins of the book's services (CONTRACT §12), written from their
// sources (justinmeza/planetary: rpc/src/server.rs, discovery/src/main.rs,
// echo/src/bin/server_v1.rs), for tests: the book's programs are Rust and
// not available here. Its transport: each read() of at most 1024 bytes is
// one request "<procedure>:<payload>", split at the first ':', the payload
// trimmed; the answer is the bare payload; the connection stays open.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace routing::test {

// The transport: a thread per connection, a handler per request.
class BookServer {
 public:
  using Handler = std::function<std::string(int procedure, const std::string& payload)>;
  explicit BookServer(Handler handler);
  ~BookServer();
  std::uint16_t port() const { return port_; }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::size_t requests() const { return requests_; }

 private:
  void accept_loop();
  void serve(int fd);

  Handler handler_;
  int listener_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<std::size_t> requests_{0};
  std::mutex mutex_;
  std::vector<int> connections_;
  std::vector<std::thread> threads_;
  std::thread acceptor_;
};

// The book's discovery: REGISTER 1 {name, address} -> OK; QUERY 2 {name} ->
// {address: "..."} ("" when none); LIST 3 {name} -> {addresses: "a;b"} in
// registration order. Entries are keyed by address and expire `expiry`
// after their last REGISTER (the book: 10-20 s).
class BookDiscoveryService {
 public:
  explicit BookDiscoveryService(std::chrono::milliseconds expiry = std::chrono::seconds(10));
  std::string address() const { return server_.address(); }
  std::uint16_t port() const { return server_.port(); }
  std::vector<std::string> listed(const std::string& name);
  std::size_t requests() const { return server_.requests(); }

 private:
  std::string answer(int procedure, const std::string& payload);
  struct Entry {
    std::string name;
    std::chrono::steady_clock::time_point last_ping;
  };
  std::chrono::milliseconds expiry_;
  std::mutex mutex_;
  std::vector<std::pair<std::string, Entry>> entries_;  // by address, in registration order
  BookServer server_;
};

// The book's echo (server_v1): ECHO 1 {message: "..."} -> the bare message.
class BookEcho {
 public:
  BookEcho();
  std::string address() const { return server_.address(); }
  std::uint16_t port() const { return server_.port(); }
  std::size_t requests() const { return server_.requests(); }

 private:
  BookServer server_;
};

}  // namespace routing::test
