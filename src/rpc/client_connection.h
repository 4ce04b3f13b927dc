#pragma once
// A client connection that pipelines: any number of calls may be outstanding;
// they are written in call order and matched with answers in that order.
// Use it only on its loop's thread (or, on an io_context that several threads
// run, through one strand).
#include <routing/reply.h>

#include "common/inplace_function.h"
#include "common/ring_queue.h"
#include "rpc/asio_fwd.h"
#include "rpc/batched_writes.h"
#include "rpc/answer_barrier.h"
#include "rpc/codec.h"
#include "rpc/drained_read.h"
#include "rpc/handler_slot.h"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>

namespace routing::rpc {


class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  using CallHandler = asio::any_completion_handler<void(Reply)>;
  using Clock = std::chrono::steady_clock;

  static std::shared_ptr<ClientConnection> create(
      asio::any_io_executor executor, std::size_t max_frame_bytes = default_max_frame_bytes);

  // Connects; failures are returned, not thrown.
  asio::awaitable<error_code> connect(asio::ip::tcp::endpoint endpoint);

  // Sends one request and completes with its answer. The payload is copied
  // (escaped) when the call starts. A transport failure completes every
  // outstanding call with status 14 (unavailable) and closes the connection.
  template <asio::completion_token_for<void(Reply)> Token>
  auto async_call(std::uint32_t procedure, std::string_view payload, Token&& token) {
    return async_call(procedure, payload, Clock::time_point::max(), std::forward<Token>(token));
  }
  // The same with a deadline: a call still unanswered at `deadline`
  // completes with status 4 and closes the connection (a late answer could
  // not be told apart on a pipelined connection), failing the calls after it
  // with 14. One timer per connection serves every call: it is re-armed only
  // when a call's deadline is earlier than the one it waits for, so a call
  // costs no timer operation in the usual case.
  template <asio::completion_token_for<void(Reply)> Token>
  auto async_call(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline, Token&& token) {
    return asio::async_initiate<Token, void(Reply)>(
        [self = shared_from_this()](auto handler, std::uint32_t proc, std::string_view data, Clock::time_point at) {
          self->start_call(proc, data, at, CallHandler(std::move(handler)));
        },
        token, procedure, payload, deadline);
  }

  // The same as a plain callback, for hot paths: no type-erased completion
  // handler, no executor hop. `done` runs on this connection's loop: inline
  // when the answer is read, or, on a failure, from a later turn of the loop
  // (never inside this call). The Reply is `done`'s (it may move the payload
  // out). `done` may make the next call on this connection or close it.
  using Callback = common::InplaceFunction<void(Reply&), 32>;
  void call_then(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline, Callback done);

  void close();
  // Sends a ping behind every request and hands out an answer only once its
  // pong follows (rpc/answer_barrier.h). Set before the first call.
  void verify_answers(bool on) noexcept { verify_answers_ = on; }
  bool is_open() const noexcept { return open_; }
  std::size_t in_flight() const noexcept { return waiting_.size(); }
  // Answers read so far: tells an answer from a transport failure when both
  // carry a status (the router keeps one call at a time per connection).
  std::uint64_t answers_received() const noexcept { return answers_received_; }
  // True when nothing shows the peer closed the connection or sent data no
  // call asked for: checked (without reading) before a pooled connection is
  // reused, so a restarted backend never costs a failed call.
  bool peer_looks_open();
  // Its read stays armed while it idles in a pool: the loop marks it closed
  // within a turn of the peer closing, so the pool skips the peek for one
  // used this recently (connection_pool.h).
  static constexpr std::chrono::milliseconds trusted_while_idle_for{50};
  asio::ip::tcp::socket& socket() noexcept { return socket_; }

  explicit ClientConnection(asio::any_io_executor executor, std::size_t max_frame_bytes);

 private:
  struct Waiting {
    CallHandler handler;  // one of the two is set
    Callback callback;
    Clock::time_point deadline;
  };
  void start_call(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline,
                  CallHandler handler);
  void enqueue(std::uint32_t procedure, std::string_view payload, Waiting waiting);
  void complete(Waiting call, Reply reply);
  void arm_deadline(Clock::time_point deadline);
  void on_deadline_timer();
  void flush();
  void flush_soon();
  struct OnRead;
  void start_read();
  void on_read(error_code ec, std::size_t bytes);
  void fail_all(std::string_view reason, Clock::time_point timed_out_by = Clock::time_point::min());

  asio::ip::tcp::socket socket_;
  DrainedReader reader_{socket_};  // reads that skip the recv bound to find nothing
  FrameDecoder decoder_;
  Frame frame_;
  std::string output_;   // requests not yet handed to the socket
  std::string writing_;  // requests being written
  common::RingQueue<Waiting> waiting_;  // calls awaiting answers, oldest first
  asio::steady_timer deadline_timer_;
  HandlerSlot read_slot_;  // the pending read's state
  Clock::time_point armed_for_ = Clock::time_point::max();  // what the timer waits for
  std::uint64_t answers_received_ = 0;
  BatchedWrites* batch_;  // the loop's end-of-turn writes, or nullptr
  bool writing_active_ = false;
  bool flush_queued_ = false;  // a flush waits for the end of the loop's turn
  bool open_ = false;
  bool verify_answers_ = false;
  AnswerBarrier barrier_;
};

}  // namespace routing::rpc
