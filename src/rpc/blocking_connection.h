#pragma once
// A line-protocol connection used with plain blocking sockets on the caller's
// own thread: what lets routing::Router::call skip the hop to an event loop
// (library mode costs about what a direct call costs). One call at a time;
// not thread-safe (the pool hands it to one thread at a time).
// Unlike BlockingClient (an event loop per call, for tools), nothing here
// runs an event loop.
#include <routing/reply.h>

#include "rpc/answer_barrier.h"
#include "rpc/codec.h"

#include <boost/asio/ip/tcp.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace routing::rpc {

class BlockingConnection {
 public:
  using Clock = std::chrono::steady_clock;
  // Connects within `timeout`; nullptr and `error` set on failure.
  static std::shared_ptr<BlockingConnection> connect(const boost::asio::ip::tcp::endpoint& endpoint,
                                                     Clock::duration timeout, std::size_t max_frame_bytes,
                                                     std::string& error);
  BlockingConnection(int fd, std::size_t max_frame_bytes);
  ~BlockingConnection();
  BlockingConnection(const BlockingConnection&) = delete;
  BlockingConnection& operator=(const BlockingConnection&) = delete;

  // Sends one request and waits for its answer until `deadline` (overshooting
  // it by at most a few milliseconds). True when `reply` is the answer; else
  // the connection is closed and `reply` says what went wrong (status 4 at
  // the deadline, else 14). How the router reads a failure (may the request
  // have been processed?) is decided in one place: routing/call/attempt.h.
  bool exchange(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline, Reply& reply);
  // The two halves of exchange, for a request sent by one thread and its
  // answer read by another (a waiting call handed its permit: see
  // routing/call/blocking_calls.cpp). Same failures as exchange.
  bool send_request(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline, Reply& reply);
  bool receive_answer(Clock::time_point deadline, Reply& reply);
  int native_handle() const noexcept { return fd_; }

  void close();
  // As ClientConnection::verify_answers (rpc/answer_barrier.h).
  void verify_answers(bool on) noexcept { verify_answers_ = on; }
  bool is_open() const noexcept { return fd_ >= 0; }
  // As ClientConnection::peer_looks_open: a non-blocking MSG_PEEK.
  bool peer_looks_open();
  // Nothing reads it between calls: a peer's close shows only when checked.
  // The pool skips the peek only for one used this recently
  // (connection_pool.h: a peek per call costs the library 17-20%).
  static constexpr std::chrono::milliseconds trusted_while_idle_for{2};

 private:
  bool fail(Reply& reply, Status status, std::string message);
  bool timeouts_cover(Clock::duration remaining);

  int fd_;
  FrameDecoder decoder_;
  Frame frame_;
  std::string request_;
  Clock::duration io_timeout_{0};  // SO_RCVTIMEO and SO_SNDTIMEO now set; 0 = none
  bool verify_answers_ = false;
  AnswerBarrier barrier_;
};

}  // namespace routing::rpc
