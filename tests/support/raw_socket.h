#pragma once
// A plain blocking TCP client for protocol tests: sends raw bytes, reads lines,
// and never interprets the protocol, so it tests the server independently of
// the project's own client code. Every read is bounded by a timeout.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace routing::test {

// A blocking TCP connection to 127.0.0.1:port (from `source_ip` if given):
// its descriptor, or -1.
int connect_loopback(std::uint16_t port, const char* source_ip = nullptr);

class RawSocket {
 public:
  // `source_ip`: the loopback address to connect from (e.g. "127.0.0.2", to
  // look like another client host); nullptr: the kernel's choice.
  explicit RawSocket(std::uint16_t port, std::chrono::milliseconds timeout = std::chrono::seconds(10),
                     const char* source_ip = nullptr);
  ~RawSocket();
  RawSocket(RawSocket&& other) noexcept;
  RawSocket(const RawSocket&) = delete;

  bool connected() const { return fd_ >= 0; }
  void send(std::string_view bytes);
  // Sends as much of `bytes` as the peer takes within `limit` (it may stop
  // reading); returns how many bytes went out. Never blocks longer.
  std::size_t send_within(std::string_view bytes, std::chrono::milliseconds limit);
  // The next line without its "\n"; nullopt on EOF, error or timeout.
  std::optional<std::string> read_line();
  // True when the peer closes within the timeout (reads and drops data first).
  bool wait_closed();
  void shutdown_write();
  // Everything until the peer closes (or the timeout), after what read_line kept.
  std::string read_all();
  // One recv() of at most `max` bytes, as the book's clients read an answer
  // (CONTRACT §12): "" when the peer closed, nullopt on timeout or error.
  std::optional<std::string> read_once(std::size_t max);

 private:
  int fd_ = -1;
  std::chrono::milliseconds timeout_;
  std::string buffer_;
};

}  // namespace routing::test
