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
                                                                std::size_t max_frame_bytes, std::string& error,
                                                                bool probe_tagged) {
  const auto deadline = Clock::now() + timeout;
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
  if (probe_tagged && !connection->probe(deadline, error)) return nullptr;
  return connection;
}

// Does the peer speak tagged frames? One `0#1:` and its answer, before any
// call (rpc/codec.h: read_probe_answer).
bool BlockingConnection::probe(Clock::time_point deadline, std::string& error) {
  std::size_t sent = 0;
  Io io = send_all(probe_frame, deadline, sent);
  while (io == Io::done) {
    FrameError bad = FrameError::none;
    auto result = decoder_.next(frame_, bad);
    if (result == FrameDecoder::Result::frame) {
      if (decoder_.buffered() != 0) break;  // more than one answer to one question
      switch (read_probe_answer(frame_)) {
        case ProbeAnswer::tagged:
          tagged_ = true;
          return true;
        case ProbeAnswer::line_only:
          return true;
        case ProbeAnswer::unusable:
          error = "the backend answered the probe " + std::to_string(frame_.number) + "#" + std::to_string(frame_.id);
          return false;
      }
    }
    if (result != FrameDecoder::Result::need_more) break;
    io = read_some(deadline);
  }
  error = io == Io::timed_out ? "timed out waiting for the answer to the tagged-frames probe"
          : io == Io::done    ? "protocol error in the answer to the tagged-frames probe"
                              : "connection closed during the tagged-frames probe";
  return false;
}

BlockingConnection::BlockingConnection(int fd, std::size_t max_frame_bytes) : fd_(fd), decoder_(max_frame_bytes) {}

BlockingConnection::~BlockingConnection() {
  if (fd_ >= 0) ::close(fd_);
}

void BlockingConnection::close() {
  if (tagged_) {  // other threads may be using the socket: it closes with the last of them
    std::lock_guard lock(mutex_);
    fail_all("connection closed");
    return;
  }
  if (fd_ >= 0) ::close(fd_);
  fd_ = -1;
}

bool BlockingConnection::peer_looks_open() {
  if (!is_open()) return false;
  char byte;
  ssize_t n = ::recv(fd_, &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  // Bytes waiting on a tagged connection are the late answers of calls
  // given up (and their cancels' pongs): the next reader drops them. On the
  // line protocol nothing may arrive between calls.
  if (n > 0) return tagged_;
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR);
}

bool BlockingConnection::fail(Reply& reply, Status status, std::string message) {
  close();
  reply = Reply::error(status, std::move(message));
  return false;
}

// Makes sure a blocked send or receive returns a little before the deadline
// (the rest is waited precisely), changing the socket's timeout only when the
// one set would overshoot: calls that share a timeout set it once per
// connection, not once per call.
bool BlockingConnection::timeout_covers(int option, Clock::duration& current, Clock::duration remaining) {
  remaining = early_aim(remaining);
  // Kept while it neither overshoots the deadline nor wakes us long before it
  // (after a short call, a long one would otherwise wake up many times).
  if (current.count() != 0 && current <= remaining + io_timeout_slack && current * 2 >= remaining) return true;
  auto us = std::max<long long>(1000, std::chrono::duration_cast<std::chrono::microseconds>(remaining).count());
  timeval tv{static_cast<time_t>(us / 1000000), static_cast<suseconds_t>(us % 1000000)};
  if (::setsockopt(fd_, SOL_SOCKET, option, &tv, sizeof tv) != 0) return false;
  current = std::chrono::microseconds(us);
  return true;
}

auto BlockingConnection::send_all(std::string_view bytes, Clock::time_point deadline, std::size_t& sent) -> Io {
  while (sent < bytes.size()) {
    auto remaining = deadline - Clock::now();
    if (remaining <= Clock::duration::zero()) return Io::timed_out;
    int flags = MSG_NOSIGNAL;
    if (remaining < precise_wait_below) {
      wait_precisely(fd_, POLLOUT, remaining);
      flags |= MSG_DONTWAIT;
    } else if (!timeout_covers(SO_SNDTIMEO, send_timeout_, remaining)) {
      return Io::failed;
    }
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, flags);
    if (n >= 0) {
      sent += static_cast<std::size_t>(n);
    } else if (errno != EINTR && errno != EAGAIN && errno != EWOULDBLOCK) {
      return Io::failed;
    }
  }
  return Io::done;
}

auto BlockingConnection::read_some(Clock::time_point deadline) -> Io {
  auto remaining = deadline - Clock::now();
  if (remaining <= Clock::duration::zero()) return Io::timed_out;
  int flags = 0;
  if (remaining < precise_wait_below) {
    wait_precisely(fd_, POLLIN, remaining);
    flags = MSG_DONTWAIT;
  } else if (!timeout_covers(SO_RCVTIMEO, receive_timeout_, remaining)) {
    return Io::failed;
  }
  auto space = decoder_.prepare_read();
  ssize_t n = ::recv(fd_, space.data(), space.size(), flags);
  if (n > 0) {
    decoder_.commit(static_cast<std::size_t>(n));
    return Io::done;
  }
  if (n == 0) return Io::closed;
  if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) return Io::failed;
  // The socket's timeout (or the precise wait) passed, or a signal: the
  // caller's deadline check decides.
  return Clock::now() >= deadline ? Io::timed_out : Io::done;
}

bool BlockingConnection::exchange(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline,
                                  Reply& reply, const CallKeys& keys) {
  if (tagged_) return exchange_tagged(procedure, payload, deadline, reply, keys);
  return send_request(procedure, payload, deadline, reply) && receive_answer(deadline, reply);
}

bool BlockingConnection::send_request(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline,
                                      Reply& reply) {
  if (fd_ < 0) return fail(reply, Status::unavailable, "connection is not open");
  request_.clear();
  append_frame(request_, procedure, payload);
  if (verify_answers_) append_barrier(request_);
  std::size_t sent = 0;
  switch (send_all(request_, deadline, sent)) {
    case Io::done:
      return true;
    case Io::timed_out:
      // A partial frame is never acted on (its newline comes last).
      return sent == 0 ? fail(reply, Status::deadline_exceeded, "deadline passed before sending")
                       : fail(reply, Status::deadline_exceeded, "deadline exceeded sending");
    default:
      // Nothing of a frame the server could act on arrived unless all of it did.
      return fail(reply, Status::unavailable, "send failed: " + last_error());
  }
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
    switch (read_some(deadline)) {
      case Io::done:
        break;
      case Io::timed_out:
        return fail(reply, Status::deadline_exceeded, "no answer by the deadline");
      case Io::closed:
        return fail(reply, Status::unavailable, "connection closed by peer");
      case Io::failed:
        return fail(reply, Status::unavailable, "receive failed: " + last_error());
    }
  }
}

}  // namespace routing::rpc
