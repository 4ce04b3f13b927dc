#include "rpc/blocking_connection.h"

#include <cerrno>
#include <cstring>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

namespace routing::rpc {
namespace {

using std::chrono::duration_cast;
using std::chrono::milliseconds;

// How far past its deadline a send or receive may block before we re-arm
// the socket's timeouts: re-arming costs syscalls, and most calls share one
// timeout.
constexpr auto io_timeout_slack = milliseconds(5);
// Socket timeouts run on the kernel's timer wheel, which rounds a timeout up
// to a granularity that grows with its length (about 1/8 of it past ~250 ms):
// a 500 ms timeout may fire 30 ms late. So they are aimed early by that much
// (at least 10 ms), and the last stretch is waited with ppoll, whose timers
// are precise to microseconds.
constexpr auto tick_margin = milliseconds(10);
constexpr auto precise_wait_below = 2 * tick_margin;

BlockingConnection::Clock::duration early_aim(BlockingConnection::Clock::duration remaining) {
  return remaining - std::max<BlockingConnection::Clock::duration>(tick_margin, remaining / 8);
}

std::string last_error() { return std::strerror(errno); }

// Waits until `fd` is ready for `events` or `timeout` passes, precisely.
void wait_precisely(int fd, short events, BlockingConnection::Clock::duration timeout) {
  pollfd entry{fd, events, 0};
  auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(timeout).count();
  timespec ts{static_cast<time_t>(ns / 1'000'000'000), static_cast<long>(ns % 1'000'000'000)};
  while (::ppoll(&entry, 1, &ts, nullptr) < 0 && errno == EINTR) {
  }
}

bool wait_writable(int fd, BlockingConnection::Clock::duration timeout) {
  pollfd entry{fd, POLLOUT, 0};
  auto ms = std::max<long long>(1, duration_cast<milliseconds>(timeout).count());
  for (;;) {
    int n = ::poll(&entry, 1, static_cast<int>(std::min<long long>(ms, 1 << 30)));
    if (n >= 0) return n == 1;
    if (errno != EINTR) return false;
  }
}

}  // namespace

std::shared_ptr<BlockingConnection> BlockingConnection::connect(const boost::asio::ip::tcp::endpoint& endpoint,
                                                                Clock::duration timeout,
                                                                std::size_t max_frame_bytes, std::string& error) {
  int fd = ::socket(endpoint.protocol().family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
  if (fd < 0) {
    error = "socket: " + last_error();
    return nullptr;
  }
  auto connection = std::make_shared<BlockingConnection>(fd, max_frame_bytes);
  if (::connect(fd, endpoint.data(), static_cast<socklen_t>(endpoint.size())) != 0) {
    if (errno != EINPROGRESS) {
      error = last_error();
      return nullptr;
    }
    if (!wait_writable(fd, timeout)) {
      error = "timed out";
      return nullptr;
    }
    int so_error = 0;
    socklen_t length = sizeof so_error;
    ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &so_error, &length);
    if (so_error != 0) {
      error = std::strerror(so_error);
      return nullptr;
    }
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);  // blocking from now on
  return connection;
}

BlockingConnection::BlockingConnection(int fd, std::size_t max_frame_bytes) : fd_(fd), decoder_(max_frame_bytes) {}

BlockingConnection::~BlockingConnection() { close(); }

void BlockingConnection::close() {
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool BlockingConnection::peer_looks_open() {
  if (fd_ < 0) return false;
  char byte;
  ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

bool BlockingConnection::fail(Reply& reply, Status status, std::string message) {
  close();
  reply = Reply::error(status, std::move(message));
  return false;
}

// Makes sure a blocked send or receive returns a little before the deadline
// (the rest is waited precisely), changing the socket's timeouts only when the ones set would
// overshoot: calls that share a timeout set them once per connection, not
// once per call.
bool BlockingConnection::timeouts_cover(Clock::duration remaining) {
  remaining = early_aim(remaining);
  // Kept while it neither overshoots the deadline nor wakes us long before it
  // (after a short call, a long one would otherwise wake up many times).
  if (io_timeout_.count() != 0 && io_timeout_ <= remaining + io_timeout_slack && io_timeout_ * 2 >= remaining) {
    return true;
  }
  auto us = std::max<long long>(1000, std::chrono::duration_cast<std::chrono::microseconds>(remaining).count());
  timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  if (::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) != 0 ||
      ::setsockopt(fd_, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv) != 0) {
    return false;
  }
  io_timeout_ = std::chrono::microseconds(us);
  return true;
}

bool BlockingConnection::exchange(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline,
                                  Reply& reply) {
  return send_request(procedure, payload, deadline, reply) && receive_answer(deadline, reply);
}

bool BlockingConnection::send_request(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline,
                                      Reply& reply) {
  if (fd_ < 0) return fail(reply, Status::unavailable, "connection is not open");
  request_.clear();
  append_frame(request_, procedure, payload);
  if (verify_answers_) append_barrier(request_);
  std::size_t sent = 0;
  while (sent < request_.size()) {
    auto remaining = deadline - Clock::now();
    if (remaining <= Clock::duration::zero()) {
      // A partial frame is never acted on (its newline comes last).
      return sent == 0 ? fail(reply, Status::deadline_exceeded, "deadline passed before sending")
                       : fail(reply, Status::deadline_exceeded, "deadline exceeded sending");
    }
    int flags = MSG_NOSIGNAL;
    if (remaining < precise_wait_below) {
      wait_precisely(fd_, POLLOUT, remaining);
      flags |= MSG_DONTWAIT;
    } else if (!timeouts_cover(remaining)) {
      return fail(reply, Status::unavailable, "setsockopt: " + last_error());
    }
    ssize_t n = ::send(fd_, request_.data() + sent, request_.size() - sent, flags);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      // Nothing of a frame the server could act on arrived unless all of it did.
      return fail(reply, Status::unavailable, "send failed: " + last_error());
    }
  }
  return true;
}

bool BlockingConnection::receive_answer(Clock::time_point deadline, Reply& reply) {
  barrier_.reset();
  for (;;) {
    FrameError error = FrameError::none;
    switch (decoder_.next(frame_, error)) {
      case FrameDecoder::Result::frame:
        if (verify_answers_) {
          auto read = barrier_.next(frame_);
          if (read == AnswerBarrier::Read::held) continue;
          if (read == AnswerBarrier::Read::broken) {
            return fail(reply, Status::unavailable,
                        "protocol error: the backend sent a frame no call asked for (an answer twice?)");
          }
        }
        if (decoder_.buffered() != 0) {
          // More than one answer to one request: not a peer we can trust.
          return fail(reply, Status::unavailable, "protocol error: answer without a request");
        }
        reply = Reply{static_cast<Status>(frame_.number), std::move(frame_.payload)};
        return true;
      case FrameDecoder::Result::malformed:
      case FrameDecoder::Result::too_long:
        return fail(reply, Status::unavailable,
                    std::string("protocol error: ") + std::string(describe(error)));
      case FrameDecoder::Result::need_more:
        break;
    }
    auto remaining = deadline - Clock::now();
    if (remaining <= Clock::duration::zero()) {
      return fail(reply, Status::deadline_exceeded, "no answer by the deadline");
    }
    int flags = 0;
    if (remaining < precise_wait_below) {
      wait_precisely(fd_, POLLIN, remaining);
      flags = MSG_DONTWAIT;
    } else if (!timeouts_cover(remaining)) {
      return fail(reply, Status::unavailable, "setsockopt: " + last_error());
    }
    auto space = decoder_.prepare_read();
    ssize_t n = ::recv(fd_, space.data(), space.size(), flags);
    if (n > 0) {
      decoder_.commit(static_cast<std::size_t>(n));
    } else if (n == 0) {
      return fail(reply, Status::unavailable, "connection closed by peer");
    } else if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      return fail(reply, Status::unavailable, "receive failed: " + last_error());
    }
    // EAGAIN: the socket's timeout (or the precise wait) passed; the deadline
    // check above decides.
  }
}

}  // namespace routing::rpc
