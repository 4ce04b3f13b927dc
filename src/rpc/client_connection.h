#pragma once
// A client connection with any number of calls outstanding. In the line
// protocol they are written in call order and matched with answers in that
// order. Once async_probe_tagged() found the peer speaking tagged frames (CONTRACT
// §8), each call carries an id and its deadline, trace context and request
// id, answers are matched by id in any order, and a call that misses its
// deadline or is cancelled is given up alone (a cancel goes to the server)
// while the connection serves on (client_tagged_calls.cpp).
// Use it only on its loop's thread (or, on an io_context that several threads
// run, through one strand).
#include <routing/reply.h>

#include "common/inplace_function.h"
#include "common/ring_queue.h"
#include "rpc/asio_fwd.h"
#include "rpc/batched_writes.h"
#include "rpc/answer_barrier.h"
#include "rpc/codec.h"
#include "rpc/handler_slot.h"
#include "rpc/transport.h"

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <memory>
#include <vector>

namespace routing::rpc {


class ClientConnection : public std::enable_shared_from_this<ClientConnection> {
 public:
  using CallHandler = asio::any_completion_handler<void(Reply)>;
  using Clock = std::chrono::steady_clock;

  static std::shared_ptr<ClientConnection> create(
      asio::any_io_executor executor, std::size_t max_frame_bytes = default_max_frame_bytes);

  // Speak TLS on this connection (set before connect()): the server is
  // verified against the context's CA and `host` (the address's host part,
  // unless the context names the server).
  void use_tls(std::shared_ptr<const tls::Context> context, std::string host);
  // Connects (and completes the TLS handshake when use_tls() was called);
  // failures are returned, not thrown. Bounded by the caller (connect_within
  // closes the socket at its limit).
  asio::awaitable<error_code> connect(asio::ip::tcp::endpoint endpoint);
  // What connect()'s error `ec` means, with the TLS failure's reason.
  std::string describe_connect_error(const error_code& ec) const;
  // Whether the connection speaks TLS, and whether its session was resumed.
  bool uses_tls() const noexcept { return transport_.tls() != nullptr; }
  bool resumed_tls_session() const;
  // Why TLS ended the connection after its handshake (e.g. the server's
  // alert refusing our certificate, which TLS 1.3 sends once the client
  // has finished its side); empty otherwise.
  std::string tls_failure() const;

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
    return async_call(procedure, payload, deadline, CallKeys{}, std::forward<Token>(token));
  }
  // The same with the keys a tagged call carries (ignored on the line
  // protocol); what they view must live until the call is started.
  template <asio::completion_token_for<void(Reply)> Token>
  auto async_call(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline,
                  const CallKeys& keys, Token&& token) {
    return asio::async_initiate<Token, void(Reply)>(
        [self = shared_from_this()](auto handler, std::uint32_t proc, std::string_view data, Clock::time_point at,
                                    CallKeys call_keys) {
          self->start_call(proc, data, at, CallHandler(std::move(handler)), call_keys);
        },
        token, procedure, payload, deadline, keys);
  }

  // The same as a plain callback, for hot paths: no type-erased completion
  // handler, no executor hop. `done` runs on this connection's loop: inline
  // when the answer is read (`answered` true), or, on a failure, from a later
  // turn of the loop (never inside this call; `answered` false: the Reply is
  // the connection's account, 4 at the deadline, 1 when cancelled, else 14).
  // The Reply is `done`'s (it may move the payload out). `done` may make the
  // next call on this connection or close it.
  // Returns the call's id on a tagged connection (for cancel()), else 0.
  using Callback = common::InplaceFunction<void(Reply&, bool answered), 32>;
  // What a tagged call carries besides its deadline (ignored in the line protocol).
  using CallKeys = rpc::CallKeys;
  std::uint64_t call_then(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline,
                          Callback done, const CallKeys& keys = {});
  // Gives up the call `id` (call_then's): on a tagged connection it alone is
  // completed with status 1 and the server is told; in the line protocol the
  // connection closes (its answer could not be told from the next call's).
  void cancel(std::uint64_t id);

  // Asks the peer, once, before the first call, whether it speaks tagged
  // frames (`0#1:`, answered `0#1:pong`; a version-1 server answers `3:...`).
  // Completes with true when it does: the connection is tagged from then on;
  // false on a line-protocol peer or a failure (is_open() tells them apart).
  template <asio::completion_token_for<void(bool)> Token>
  auto async_probe_tagged(Clock::time_point deadline, Token&& token) {
    return asio::async_initiate<Token, void(bool)>(
        [self = shared_from_this()](auto handler, Clock::time_point at) {
          self->start_probe(at, asio::any_completion_handler<void(bool)>(std::move(handler)));
        },
        token, deadline);
  }
  bool tagged() const noexcept { return tagged_; }

  void close();
  // Sends a ping behind every request and hands out an answer only once its
  // pong follows (rpc/answer_barrier.h). Set before the first call.
  void verify_answers(bool on) noexcept { verify_answers_ = on; }
  bool is_open() const noexcept { return open_; }
  // Calls whose callers still wait for an answer.
  std::size_t in_flight() const noexcept { return tagged_ ? tagged_in_flight_ : waiting_.size(); }
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
    CallHandler handler;  // one of the two is set (neither: the probe, or a cancel's ping)
    Callback callback;
    Clock::time_point deadline;

    Waiting() = default;
    Waiting(CallHandler h, Callback c, Clock::time_point at)
        : handler(std::move(h)), callback(std::move(c)), deadline(at) {}
    Waiting(Waiting&&) noexcept = default;
    // Not memberwise: Boost 1.81's any_completion_handler move assignment
    // wraps the source in itself without end (a stack overflow). Swap instead.
    Waiting& operator=(Waiting&& other) noexcept {
      CallHandler(std::move(other.handler)).swap(handler);
      callback = std::move(other.callback);
      deadline = other.deadline;
      return *this;
    }
  };
  // A tagged call's place; its id is (serial << slot_bits) | index, so an
  // answer finds its call without a search or an allocation.
  struct Slot {
    Waiting call;
    std::uint64_t id = 0;   // 0: free
    bool given_up = false;  // its caller has been answered: the answer to come is dropped
  };
  static constexpr unsigned slot_bits = 20;
  void start_call(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline,
                  CallHandler handler, const CallKeys& keys);
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
  void deliver(Waiting call, Reply& reply);
  void start_probe(Clock::time_point deadline, asio::any_completion_handler<void(bool)> done);
  // Tagged calls (client_tagged_calls.cpp).
  std::uint64_t enqueue_tagged(std::uint32_t procedure, std::string_view payload, Waiting waiting,
                               const CallKeys& keys);
  std::uint32_t open_slot();
  void free_slot(std::uint32_t index);
  // Completes the call with `reply` at once (its answer, when it comes, is
  // dropped) and tells the server with a cancel.
  void give_up_tagged(std::uint32_t index, Reply reply);
  // False when the frame answers no call (a protocol error).
  bool on_tagged_answer();
  void on_probe_answer(Waiting probe);
  void expire_tagged(Clock::time_point now);
  void fail_tagged(std::string_view reason);

  Transport transport_;
  asio::ip::tcp::socket& socket_ = transport_.socket();
  std::shared_ptr<const tls::Context> tls_context_;  // null: plain TCP
  std::string tls_host_;
  std::string tls_failure_;  // why the handshake failed
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
  bool tagged_ = false;
  bool probing_ = false;
  asio::any_completion_handler<void(bool)> probed_;
  std::vector<Slot> slots_;
  std::vector<std::uint32_t> free_slots_;
  std::uint64_t serial_ = 0;
  std::size_t tagged_in_flight_ = 0;  // slots whose callers wait
};

}  // namespace routing::rpc
