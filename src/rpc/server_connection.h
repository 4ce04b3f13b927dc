#pragma once
// One accepted connection: a reader that decodes frames and serves their
// untagged calls in order, one at a time (it reads on only when the call's
// answer is queued), and tagged calls (CONTRACT §8) concurrently, each
// answered as it finishes (tagged_calls.h), answers written as they are ready (batched while a write is in
// flight, so a slow client never stalls the reader and a slow call never
// delays the answers before it), and an idle watchdog. The reader is plain
// callbacks, not a coroutine: a routed call then costs no coroutine frame
// here. Everything runs on the owning worker's single-threaded event loop.
#include "common/span_log.h"
#include "rpc/batched_writes.h"
#include "rpc/handler_slot.h"
#include "rpc/server.h"
#include "rpc/tagged_calls.h"
#include "rpc/transport.h"

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include <unordered_set>

namespace routing::rpc {

class ServerConnection;

// A procedure's handler: exactly one of the two kinds is set.
struct RegisteredHandler {
  Handler coroutine;
  CallbackHandler callback;
};

// What every connection of a server shares; read-only once the server runs,
// apart from the counters.
struct ServerShared {
  ServerOptions options;
  std::shared_ptr<common::SpanLog> spans;  // null: no trace log
  std::unordered_map<std::uint32_t, RegisteredHandler> handlers;
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> accepted{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> evicted{0};
  std::atomic<std::uint64_t> pings{0};  // procedure 0 (health checks), cancels not counted
};

// The live connections of one worker, touched only on that worker's thread.
struct ConnectionSet {
  std::unordered_set<ServerConnection*> live;
  bool draining = false;
  std::function<void()> drained;  // called when `live` empties while draining
};

class ServerConnection : public std::enable_shared_from_this<ServerConnection> {
 public:
  using Clock = std::chrono::steady_clock;

  // `tls`: the session whose handshake completed on `socket`, or null.
  ServerConnection(asio::ip::tcp::socket socket, std::unique_ptr<tls::Session> tls, ServerShared& shared,
                   ConnectionSet& set);
  ~ServerConnection();

  void start();
  // The server is stopping: keep serving (a lame duck) until the connection
  // has been quiet for drain_quiet, so clients that have not yet heard that
  // this server is leaving do not lose a request sent as it closes.
  void begin_drain();
  // Finish the call in flight, write its answer, then close.
  void begin_shutdown();
  // Close now, dropping whatever is unanswered.
  void close();
  // The drain timeout: answer what was read with 14 (cut, or not
  // processed), then close.
  void cut();
  // How long nothing has happened on it; zero while a call or an answer is
  // pending, or once it is closing (such a connection is never evicted).
  std::chrono::steady_clock::duration quiet_for(std::chrono::steady_clock::time_point now) const;

 private:
  friend class Responder;
  void start_read();
  void on_read(error_code ec, std::size_t bytes);
  // Serves the complete frames buffered, in order, until a call is pending,
  // the output is full, or more bytes are needed (then reads).
  void serve_buffered();
  void dispatch();
  void start_call();
  void run_coroutine_handler(const Handler& handler, CallContext& call, Responder responder);
  // The pending call's answer (from its Responder).
  void answer_call(Status status, std::string_view payload);
  // The same with the bare bytes of the book's transport (Responder::answer_bare).
  void answer_call_bare(std::string_view bytes);
  bool end_call();
  void after_answer();
  // A tagged frame: answered here (ping, cancel, refusals) or started.
  void dispatch_tagged();
  bool refuse_tagged();
  void start_tagged_call(const RegisteredHandler& handler);
  // A tagged call's Responder answered (or was dropped): write the answer
  // unless the call was given up already, and free its slot.
  void answer_tagged(std::uint32_t slot, Status status, std::string_view payload);
  // Answers a tagged call now with `status` (cancel, deadline, cut) and tells
  // its handler (CallContext::on_abandoned); its slot stays taken until the
  // handler lets go.
  void give_up_tagged(std::uint32_t slot, Status status, std::string_view message);
  // The client closed: every call in flight is abandoned.
  void abandon_all_calls();
  void begin_span(CallContext& call);
  void end_span(CallContext& call, Status status);
  void arm_deadline_timer(Clock::time_point deadline);
  void expire_overdue_calls();
  void stop_reading();
  void watch_for_peer_gone();
  // Output drained below the limit: serve on if the reader waited for that.
  void resume_reader();
  void start_write();
  void write_soon();
  void on_written(error_code ec);
  void finish_if_done();
  asio::awaitable<void> idle_watchdog(std::shared_ptr<ServerConnection> self);
  asio::awaitable<void> linger_then_close(std::shared_ptr<ServerConnection> self);
  void queue_answer(Status status, std::string_view payload);
  void queue_tagged_answer(Status status, std::uint64_t id, std::string_view payload);
  void note_partial_frame();
  Clock::time_point watchdog_deadline() const;
  bool frame_overdue(Clock::time_point now) const;
  bool busy() const { return in_call_ || tagged_.answerable() != 0 || !output_.empty() || !writing_.empty(); }

  Transport transport_;
  asio::ip::tcp::socket& socket_ = transport_.socket();
  ServerShared& shared_;
  ConnectionSet& set_;
  FrameDecoder decoder_;
  Frame frame_;
  ConnectionContext context_;
  CallContext call_{context_};    // the untagged call in flight
  TaggedCalls tagged_{context_};  // the tagged calls in flight
  // Wakes at the earliest deadline of the tagged calls (armed at
  // deadline_armed_; max() when idle).
  asio::steady_timer deadline_timer_;
  Clock::time_point deadline_armed_ = Clock::time_point::max();
  std::string output_;   // answers queued for the writer
  std::string writing_;  // answers being written now
  asio::steady_timer idle_timer_;
  asio::cancellation_signal read_cancel_;
  HandlerSlot read_slot_;  // the pending read's state
  BatchedWrites* batch_;   // the loop's end-of-turn writes, or nullptr
  Clock::time_point last_activity_;
  // When the first bytes of the incomplete frame now buffered were seen;
  // max() while no frame is partly received (or a call is being served).
  Clock::time_point partial_since_ = Clock::time_point::max();
  bool in_call_ = false;
  bool dispatching_ = false;       // inside dispatch(): an answer given now must not re-enter serve_buffered
  bool read_pending_ = false;
  bool write_active_ = false;      // an async_write of writing_ is in flight
  bool write_queued_ = false;      // start_write waits for the end of the loop's turn
  bool reader_blocked_ = false;    // the reader waits for output to drain
  bool finishing_ = false;         // linger_then_close has started
  bool reading_done_ = false;
  bool peer_closed_ = false;  // the client half-closed or reset
  bool draining_ = false;
  bool stopping_ = false;
  bool closed_ = false;
  bool cut_ = false;  // cut() answered the call in flight
};

}  // namespace routing::rpc
