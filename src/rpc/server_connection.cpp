#include "rpc/server_connection.h"

#include "common/coarse_clock.h"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include "common/log.h"

#include <cassert>

namespace routing::rpc {
namespace {

using Clock = std::chrono::steady_clock;

// How long a closing connection keeps reading (and discarding) what the client
// still sends after our last answer: closing with unread input makes the kernel
// send a reset, which can destroy that answer before the client reads it.
constexpr auto linger_time = std::chrono::seconds(1);

void log_escaped_exception(std::exception_ptr error) {
  if (!error) return;
  try {
    std::rethrow_exception(error);
  } catch (const std::exception& e) {
    common::log().error("connection coroutine failed: {}", e.what());
  }
}

}  // namespace

ServerConnection::ServerConnection(asio::ip::tcp::socket socket, std::unique_ptr<tls::Session> tls,
                                   ServerShared& shared, ConnectionSet& set)
    : transport_(std::move(socket), std::move(tls)),
      shared_(shared),
      set_(set),
      decoder_(shared.options.max_frame_bytes),
      deadline_timer_(socket_.get_executor()),
      idle_timer_(socket_.get_executor()),
      batch_(BatchedWrites::of(socket_.get_executor())),
      last_activity_(common::coarse_now()) {
  error_code ec;
  context_.peer = socket_.remote_endpoint(ec);
  context_.executor = socket_.get_executor();
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);  // for send_now
  if (auto* session = transport_.tls()) context_.identity = session->peer_identity();
  set_.live.insert(this);
}

ServerConnection::~ServerConnection() {
  set_.live.erase(this);
  shared_.open.fetch_sub(1, std::memory_order_relaxed);
  if (set_.draining && set_.live.empty() && set_.drained) set_.drained();
}

void ServerConnection::start() {
  asio::co_spawn(socket_.get_executor(), idle_watchdog(shared_from_this()), log_escaped_exception);
  serve_buffered();  // nothing buffered yet: starts the first read
}

void ServerConnection::begin_drain() {
  if (draining_ || stopping_ || closed_) return;
  draining_ = true;
  if (shared_.options.drain_quiet.count() == 0) {
    begin_shutdown();
  } else {
    idle_timer_.cancel();  // the watchdog re-plans with the quiet time
  }
}

void ServerConnection::begin_shutdown() {
  if (stopping_ || closed_) return;
  stopping_ = true;
  // A read in progress stops now; a call in progress finishes first (its
  // answer is written, then serve_buffered stops).
  if (in_call_) return;
  if (read_pending_) {
    read_cancel_.emit(asio::cancellation_type::terminal);
  } else if (reader_blocked_) {
    reader_blocked_ = false;
    stop_reading();
  }
}

// Tells the client what was read and not answered, then closes: the call in
// flight may have been processed (14, its outcome unknown); frames read but
// not started were not (14, safe to send again). The loop stops right after
// the cut, so only what the socket takes at once is sent.
void ServerConnection::cut() {
  if (closed_) return;
  if (in_call_) {
    in_call_ = false;
    cut_ = true;  // its Responder's answer, should it still come, goes nowhere
    queue_answer(Status::unavailable, "cut at the server's drain timeout: the call may have been processed");
  }
  for (std::uint32_t slot : tagged_.answerable_slots()) {
    give_up_tagged(slot, Status::unavailable, "cut at the server's drain timeout: the call may have been processed");
  }
  FrameError error = FrameError::none;
  for (;;) {
    auto result = decoder_.next(frame_, error);
    if (result == FrameDecoder::Result::need_more || result == FrameDecoder::Result::too_long) break;
    constexpr std::string_view not_processed = "not processed: the server is stopping";
    if (result == FrameDecoder::Result::frame && frame_.id != 0) {
      queue_tagged_answer(Status::unavailable, frame_.id, not_processed);
    } else {
      queue_answer(Status::unavailable, not_processed);
    }
  }
  if (!write_active_) {  // else the bytes in flight go first: nothing more can follow in order
    error_code ec;
    transport_.send_now(output_, ec);
  }
  close();
}

void ServerConnection::close() {
  if (closed_) return;
  closed_ = true;
  error_code ec;
  socket_.close(ec);  // a pending read completes (aborted) and stops the reader
  idle_timer_.cancel();
  deadline_timer_.cancel();
  // Closed under running calls (a write failed: the client cannot get their
  // answers): each is told, so it gives up its slot now rather than at its
  // timeout.
  if (!context_.peer_gone && (in_call_ || tagged_.answerable() != 0)) abandon_all_calls();
  if (reader_blocked_) {
    reader_blocked_ = false;
    stop_reading();
  }
}

ServerConnection::Clock::duration ServerConnection::quiet_for(Clock::time_point now) const {
  if (busy() || stopping_ || closed_ || finishing_ || decoder_.buffered() != 0) return Clock::duration::zero();
  return now - last_activity_;
}

void ServerConnection::queue_answer(Status status, std::string_view payload) {
  auto number = static_cast<std::int32_t>(status);
  if (number < 0) number = static_cast<std::int32_t>(Status::internal);
  append_frame(output_, static_cast<std::uint32_t>(number), payload);
  if (!write_active_ && !write_queued_) write_soon();
}

void ServerConnection::queue_tagged_answer(Status status, std::uint64_t id, std::string_view payload) {
  auto number = static_cast<std::int32_t>(status);
  if (number < 0) number = static_cast<std::int32_t>(Status::internal);
  append_tagged_frame(output_, static_cast<std::uint32_t>(number), id, payload);
  if (!write_active_ && !write_queued_) write_soon();
}

// At the end of the loop's turn, with the other connections' writes
// (batched_writes.h); answers given meanwhile go in the same send.
void ServerConnection::write_soon() {
  if (batch_ == nullptr) return start_write();
  write_queued_ = true;
  batch_->write_soon([self = shared_from_this()] {
    self->write_queued_ = false;
    if (!self->write_active_) self->start_write();
  }, WriteKind::answer);
}

// Hands everything queued to the socket in one write; answers queued while
// it is in flight go in the next one.
void ServerConnection::start_write() {
  if (closed_) return;
  // Usually the socket has room: hand the answers over at once, without an
  // asynchronous operation (and its trip through the event loop).
  error_code ec;
  std::size_t sent = transport_.send_now(output_, ec);
  if (ec) {
    close();
    return;
  }
  output_.erase(0, sent);
  if (output_.empty()) {
    resume_reader();
    finish_if_done();
    return;
  }
  write_active_ = true;
  std::swap(output_, writing_);
  transport_.async_write(writing_,
                    [self = shared_from_this()](error_code ec, std::size_t) { self->on_written(ec); });
}

void ServerConnection::on_written(error_code ec) {
  write_active_ = false;
  writing_.clear();
  if (ec) {
    close();
    return;
  }
  if (!output_.empty()) {
    start_write();
    return;
  }
  resume_reader();
  finish_if_done();
}

void ServerConnection::resume_reader() {
  if (!reader_blocked_ || output_.size() >= shared_.options.max_pending_output_bytes) return;
  reader_blocked_ = false;
  serve_buffered();
}

// After the reader stopped and every answer is written: close gently.
void ServerConnection::finish_if_done() {
  if (!reading_done_ || write_active_ || !output_.empty() || finishing_ || closed_) return;
  if (tagged_.answerable() != 0) return;  // their answers are still to come
  finishing_ = true;
  asio::co_spawn(socket_.get_executor(), linger_then_close(shared_from_this()), log_escaped_exception);
}

// Right after an answer the client has rarely sent its next request yet: a
// read that emptied the socket leaves the next one waiting for epoll without
// a recv (drained_read.h).
void ServerConnection::start_read() {
  assert(!read_pending_ && "one read at a time: a second would split frames");
  if (stopping_ || closed_) return stop_reading();
  read_pending_ = true;
  auto space = decoder_.prepare_read();
  auto on_read = [self = shared_from_this()](error_code ec, std::size_t n) { self->on_read(ec, n); };
  transport_.async_read_some(
      asio::buffer(space.data(), space.size()),
      asio::bind_cancellation_slot(read_cancel_.slot(),
                                   asio::bind_allocator(SlotAllocator<void>(read_slot_), std::move(on_read))));
}

void ServerConnection::on_read(error_code ec, std::size_t bytes) {
  read_pending_ = false;
  if (ec) {
    peer_closed_ = ec != asio::error::operation_aborted;
    if (peer_closed_) abandon_all_calls();  // not our own cancel (stop_reading)
    if (in_call_) return;  // its end decides what comes next
    stop_reading();
    return;
  }
  decoder_.commit(bytes);
  last_activity_ = common::coarse_now();  // for idle timeouts: a tick's precision is plenty
  if (in_call_) return;  // a watch read (watch_for_peer_gone): the bytes wait for the call's end
  serve_buffered();
}

// While a call is unanswered the reader goes on reading, so that a client
// that hangs up is noticed at once (its call then gives up its slot: 
// CallContext::on_abandoned) rather than when the answer is written.
// Only while nothing else is buffered: a client that pipelines is still
// there, and its bytes must not pile up behind a slow call.
void ServerConnection::watch_for_peer_gone() {
  if (!in_call_ || read_pending_ || peer_closed_ || stopping_ || closed_ || reading_done_) return;
  if (decoder_.buffered() != 0) return;
  start_read();
}

// The client closed (or reset) while calls run: each is told (its
// CallContext::on_abandoned). Their answers are still written (a client that
// only half-closed reads them), then the connection ends.
void ServerConnection::abandon_all_calls() {
  context_.peer_gone = true;
  auto tell = [](CallContext& call) {
    call.abandoned = true;
    if (auto hook = std::move(call.on_abandoned)) {
      call.on_abandoned = nullptr;
      hook();
    }
  };
  if (in_call_) tell(call_);
  for (std::uint32_t slot : tagged_.answerable_slots()) tell(tagged_.at(slot).call);
}

void ServerConnection::stop_reading() {
  if (reading_done_) return;
  reading_done_ = true;
  if (read_pending_) read_cancel_.emit(asio::cancellation_type::terminal);  // a watch read
  idle_timer_.cancel();
  finish_if_done();
}

void ServerConnection::serve_buffered() {
  while (!in_call_) {
    if (stopping_ || closed_) return stop_reading();
    if (output_.size() >= shared_.options.max_pending_output_bytes) {
      reader_blocked_ = true;  // resume_reader() serves on
      return;
    }
    FrameError error = FrameError::none;
    switch (decoder_.next(frame_, error)) {
      case FrameDecoder::Result::need_more:
        note_partial_frame();
        if (read_pending_) return;  // the watch read of the call just answered
        if (peer_closed_) return stop_reading();
        return start_read();
      case FrameDecoder::Result::malformed:
        partial_since_ = Clock::time_point::max();
        queue_answer(Status::invalid_argument, describe(error));
        break;
      case FrameDecoder::Result::too_long:
        queue_answer(Status::invalid_argument, describe(error));
        return stop_reading();
      case FrameDecoder::Result::frame:
        partial_since_ = Clock::time_point::max();
        if (frame_.id != 0 && !shared_.options.tagged_frames) {
          queue_answer(Status::invalid_argument, describe(FrameError::bad_digit));  // as version 1 read it
        } else if (frame_.id != 0) {
          dispatch_tagged();
        } else {
          dispatch();
        }
        break;
    }
  }
}

// Starts the frame's call. Ping and unknown procedures are answered here.
void ServerConnection::dispatch() {
  in_call_ = true;
  dispatching_ = true;  // answers given from here on leave the serving to serve_buffered's loop
  start_call();
  dispatching_ = false;
  watch_for_peer_gone();
}

void ServerConnection::start_call() {
  const std::uint32_t procedure = frame_.number;
  if (procedure == 0) {
    shared_.pings.fetch_add(1, std::memory_order_relaxed);
    return answer_call(Status::ok, "pong");
  }
  auto it = shared_.handlers.find(procedure);
  if (it == shared_.handlers.end()) {
    return answer_call(Status::unimplemented, "unknown procedure " + std::to_string(procedure));
  }
  call_.abandoned = context_.peer_gone;  // read after its client hung up: nobody waits for it
  Responder responder(shared_from_this(), Responder::untagged);
  try {
    if (it->second.callback) {
      call_.payload_as_sent = frame_.raw_payload.empty() ? std::string_view(frame_.payload) : frame_.raw_payload;
      it->second.callback(frame_.payload, call_, std::move(responder));
    } else {
      run_coroutine_handler(it->second.coroutine, call_, std::move(responder));
    }
  } catch (const std::exception& e) {
    // The Responder was the handler's: destroyed unanswered while the
    // exception left the handler, it has answered 13 already.
    common::log().error("procedure {} threw: {}", procedure, e.what());
  }
}

// `call` lives as long as the responder (its slot is held until then).
void ServerConnection::run_coroutine_handler(const Handler& handler, CallContext& call, Responder responder) {
  const std::uint32_t procedure = frame_.number;
  asio::co_spawn(socket_.get_executor(), handler(std::move(frame_.payload), call),
                 [responder = std::move(responder), procedure, &call](std::exception_ptr error, Reply reply) mutable {
                   if (!error) return responder.answer(reply);
                   try {
                     std::rethrow_exception(error);
                   } catch (const std::exception& e) {
                     // A call given up may end in an exception nobody sees.
                     if (!call.abandoned) common::log().error("procedure {} threw: {}", procedure, e.what());
                   }
                   responder.answer(Status::internal, "internal error");
                 });
}

void ServerConnection::answer_call(Status status, std::string_view payload) {
  if (!end_call()) return;
  queue_answer(status, payload);
  after_answer();
}

void ServerConnection::answer_call_bare(std::string_view bytes) {
  if (!end_call()) return;
  output_.append(bytes);
  if (!write_active_ && !write_queued_) write_soon();
  after_answer();
}

// The untagged call is over: false when its answer goes nowhere (the call
// was cut at the drain timeout, or the connection closed).
bool ServerConnection::end_call() {
  if (cut_) return false;
  in_call_ = false;
  call_.on_abandoned = nullptr;
  last_activity_ = common::coarse_now();
  return !closed_;
}

void ServerConnection::after_answer() {
  if (context_.close_after_answer) begin_shutdown();
  // Answered later (not from inside dispatch): serve what is buffered next.
  if (!dispatching_) serve_buffered();
}

Responder::Responder(std::shared_ptr<ServerConnection> connection, std::uint32_t slot)
    : connection_(std::move(connection)), slot_(slot) {}

Responder& Responder::operator=(Responder&& other) noexcept {
  if (this != &other) {
    if (connection_) answer(Status::internal, "internal error: the call was dropped without an answer");
    connection_ = std::move(other.connection_);
    slot_ = other.slot_;
  }
  return *this;
}

Responder::~Responder() {
  if (connection_) answer(Status::internal, "internal error: the call was dropped without an answer");
}

void Responder::answer(Status status, std::string_view payload) {
  if (!connection_) return;  // answered already
  auto connection = std::move(connection_);
  if (slot_ == untagged) return connection->answer_call(status, payload);
  connection->answer_tagged(slot_, status, payload);
}

void Responder::answer_bare(std::string_view bytes, Status tagged_status) {
  if (!connection_) return;
  auto connection = std::move(connection_);
  if (slot_ == untagged) return connection->answer_call_bare(bytes);
  connection->answer_tagged(slot_, tagged_status, bytes);
}

asio::awaitable<void> ServerConnection::linger_then_close(std::shared_ptr<ServerConnection> self) {
  if (closed_) co_return;
  error_code ec;
  transport_.shutdown_send(ec);
  if (!peer_closed_ && !ec) {
    using namespace asio::experimental::awaitable_operators;
    auto discard = [this]() -> asio::awaitable<void> {
      char sink[4096];
      for (;;) {
        auto [read_ec, n] = co_await socket_.async_read_some(asio::buffer(sink), use_nothrow);
        if (read_ec) co_return;
      }
    };
    asio::steady_timer timer(socket_.get_executor(), linger_time);
    co_await (discard() || timer.async_wait(use_nothrow));
  }
  close();
}

// Starts the frame clock when a read ended inside a frame; the watchdog is
// woken only if that moves its deadline earlier (rare: a read ending mid-frame).
void ServerConnection::note_partial_frame() {
  if (decoder_.buffered() == 0) {
    partial_since_ = Clock::time_point::max();
    return;
  }
  if (partial_since_ != Clock::time_point::max() || shared_.options.frame_timeout.count() == 0) return;
  partial_since_ = Clock::now();
  if (partial_since_ + shared_.options.frame_timeout < idle_timer_.expiry()) idle_timer_.cancel();
}

bool ServerConnection::frame_overdue(Clock::time_point now) const {
  auto limit = shared_.options.frame_timeout;
  return limit.count() > 0 && partial_since_ != Clock::time_point::max() && !in_call_ &&
         now >= partial_since_ + limit;
}

// The earlier of: quiet for the idle timeout (or, once the server drains, for
// the shorter quiet time of a lame duck), and the partial frame's time limit.
ServerConnection::Clock::time_point ServerConnection::watchdog_deadline() const {
  auto deadline = Clock::time_point::max();
  auto quiet = draining_ ? shared_.options.drain_quiet : shared_.options.idle_timeout;
  if (quiet.count() > 0) deadline = last_activity_ + quiet;
  auto frame_limit = shared_.options.frame_timeout;
  if (frame_limit.count() > 0 && partial_since_ != Clock::time_point::max()) {
    deadline = std::min(deadline, partial_since_ + frame_limit);
  }
  return deadline;
}

// Closes the connection once it has been quiet long enough, or when a frame
// takes too long to arrive.
asio::awaitable<void> ServerConnection::idle_watchdog(std::shared_ptr<ServerConnection> self) {
  while (!closed_ && !reading_done_) {
    idle_timer_.expires_at(watchdog_deadline());
    co_await idle_timer_.async_wait(use_nothrow);
    if (closed_ || reading_done_) break;
    auto now = Clock::now();
    if (frame_overdue(now)) {
      common::log().debug("closing a connection whose frame did not complete in time");
      queue_answer(Status::deadline_exceeded, "frame not completed within " +
                                                  std::to_string(shared_.options.frame_timeout.count()) + " ms");
      begin_shutdown();
      break;
    }
    auto quiet = draining_ ? shared_.options.drain_quiet : shared_.options.idle_timeout;
    if (quiet.count() == 0 || now < last_activity_ + quiet) continue;  // woken to re-plan
    if (busy()) {
      last_activity_ = now;  // a long call or a slow reader is not idleness
      continue;
    }
    common::log().debug(draining_ ? "closing a quiet connection of a draining server" : "closing idle connection");
    begin_shutdown();
    break;
  }
}

}  // namespace routing::rpc
