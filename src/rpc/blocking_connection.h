#pragma once
// A connection used with plain blocking sockets on the callers' own threads:
// what lets routing::Router::call skip the hop to an event loop (library
// mode costs about what a direct call costs). Unlike BlockingClient (an
// event loop per call, for tools), nothing here runs an event loop.
//
// Two forms, fixed at connect:
// - line protocol: one call at a time; not thread-safe (the pool hands it to
//   one thread at a time);
// - tagged frames (CONTRACT §8, when connect() probed and the peer
//   answered): any number of threads call exchange() at once, and answers
//   are matched by id. Whichever waiting thread finds nobody reading reads
//   for all of them and hands each answer to its caller; when its own
//   answer is in, it wakes a waiting caller to read next
//   (blocking_tagged_calls.cpp; docs/performance.md has the measurements).
#include <routing/reply.h>

#include "rpc/answer_barrier.h"
#include "rpc/codec.h"

#include <boost/asio/ip/tcp.hpp>

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace routing::rpc {

class BlockingConnection {
 public:
  using Clock = std::chrono::steady_clock;
  // Connects within `timeout`; with `probe_tagged`, asks the peer within the
  // same time whether it speaks tagged frames (tagged() says the answer).
  // nullptr and `error` set on failure (a probe answered with neither a pong
  // nor a version-1 refusal is a failure: nothing was sent on it).
  static std::shared_ptr<BlockingConnection> connect(const boost::asio::ip::tcp::endpoint& endpoint,
                                                     Clock::duration timeout, std::size_t max_frame_bytes,
                                                     std::string& error, bool probe_tagged = false);
  BlockingConnection(int fd, std::size_t max_frame_bytes);
  ~BlockingConnection();
  BlockingConnection(const BlockingConnection&) = delete;
  BlockingConnection& operator=(const BlockingConnection&) = delete;

  // Sends one request and waits for its answer until `deadline` (overshooting
  // it by at most a few milliseconds). True when `reply` is the answer; else
  // `reply` says what went wrong (status 4 at the deadline, else 14). The
  // line protocol closes the connection on any failure; a tagged one only
  // when the connection itself failed (a call past its deadline is given up
  // alone, and the server told). `keys` travel on tagged frames only. How
  // the router reads a failure is decided in one place: routing/call/attempt.h.
  bool exchange(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline, Reply& reply,
                const CallKeys& keys = {});
  // The two halves of a line-protocol exchange, for a request sent by one
  // thread and its answer read by another (a waiting call handed its
  // permit: see routing/call/blocking_calls.cpp). Same failures as exchange.
  bool send_request(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline, Reply& reply);
  bool receive_answer(Clock::time_point deadline, Reply& reply);
  int native_handle() const noexcept { return fd_; }

  // The same split for a tagged call (a waiting call handed its permit):
  // send_tagged registers `call` and sends it (false: it ended unsent,
  // `reply` says why); receive_tagged, on the caller's thread, waits for its
  // answer as exchange does (at once if it ended). Until receive_tagged
  // begins, `call.waker` (if set) is told instead of the call's condition
  // variable whenever the call ends or is to read for the others; a call
  // sent for another thread always ends through it.
  class Waker {
   public:
    // The call ended.
    virtual void wake() = 0;
    // The call is to read for the others once `socket` has data: its
    // thread need not wake before then.
    virtual void read_when_ready(int socket) = 0;

   protected:
    ~Waker() = default;
  };
  struct TaggedCall;
  bool send_tagged(TaggedCall& call, std::uint32_t procedure, std::string_view payload, Clock::time_point deadline,
                   const CallKeys& keys);
  bool receive_tagged(TaggedCall& call, Clock::time_point deadline);

  // Line protocol: closes the socket. Tagged: shuts it down, failing every
  // call on it (the socket closes with the last owner).
  void close();
  // As ClientConnection::verify_answers (rpc/answer_barrier.h); line protocol only.
  void verify_answers(bool on) noexcept { verify_answers_ = on; }
  bool is_open() const noexcept { return fd_ >= 0 && !broken_.load(std::memory_order_relaxed); }
  // As ClientConnection::peer_looks_open: a non-blocking MSG_PEEK.
  bool peer_looks_open();
  // For the pool (connection_pool.h): shared between calls when tagged.
  bool tagged() const noexcept { return tagged_; }
  // Calls lent this connection by the pool (counted as they are lent: a
  // call registers here only once it runs, after the pool's lock is let go).
  std::size_t in_flight() const noexcept { return leases_.load(std::memory_order_relaxed); }
  void lease_taken() noexcept { leases_.fetch_add(1, std::memory_order_relaxed); }
  void lease_returned() noexcept { leases_.fetch_sub(1, std::memory_order_relaxed); }
  // Nothing reads it between calls: a peer's close shows only when checked.
  // The pool skips the peek only for one used this recently
  // (connection_pool.h: a peek per call costs the library 17-20%).
  static constexpr std::chrono::milliseconds trusted_while_idle_for{2};

 private:
  enum class Io { done, timed_out, closed, failed };

  bool fail(Reply& reply, Status status, std::string message);
  // One socket timeout per direction, changed only when the one set would
  // overshoot `remaining` (calls that share a timeout set it once).
  bool timeout_covers(int option, Clock::duration& current, Clock::duration remaining);
  // All of `bytes` sent by `deadline` (done), or how it failed; `sent` counts
  // what went out.
  Io send_all(std::string_view bytes, Clock::time_point deadline, std::size_t& sent);
  // One read into the decoder, waiting until `deadline` at most.
  Io read_some(Clock::time_point deadline);
  bool probe(Clock::time_point deadline, std::string& error);

  // Tagged calls (blocking_tagged_calls.cpp).
  bool exchange_tagged(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline, Reply& reply,
                       const CallKeys& keys);
  void wake(TaggedCall& call);
  void end_unsent(TaggedCall& call, Status status, const char* why);  // under mutex_
  void read_for_everyone(std::unique_lock<std::mutex>& lock, TaggedCall& mine, Clock::time_point deadline);
  void hand_reading_on();
  bool forget(TaggedCall& call);  // false: not waiting (ended already)
  void fail_all(std::string_view why);  // under mutex_
  void send_cancel(std::uint64_t id);

  int fd_;
  FrameDecoder decoder_;  // line: the caller's; tagged: the reading thread's
  Frame frame_;
  std::string request_;
  Clock::duration receive_timeout_{0};  // SO_RCVTIMEO now set; 0 = none
  Clock::duration send_timeout_{0};     // SO_SNDTIMEO
  bool verify_answers_ = false;
  AnswerBarrier barrier_;

  bool tagged_ = false;
  std::atomic<bool> broken_{false};
  std::atomic<std::size_t> leases_{0};
  std::atomic<std::uint64_t> last_id_{1};  // the probe was 1; ids are never reused
  std::mutex send_mutex_;                   // one frame at a time; request_, send_timeout_
  std::mutex mutex_;                        // calls_, reading_
  std::vector<TaggedCall*> calls_;          // waiting for their answers
  bool reading_ = false;                    // a caller's thread is reading for all
};

// A tagged call waiting for its answer (see send_tagged).
struct BlockingConnection::TaggedCall {
  std::uint64_t id = 0;
  Reply reply;
  bool answered = false;  // `reply` holds the outcome, whatever it is
  bool ok = false;        // ... and it is the server's answer
  bool sent = false;      // its frame is out: its thread waits (or will) and may be asked to read
  Waker* waker = nullptr;
  std::condition_variable wake;
};

}  // namespace routing::rpc
