#include "rpc/client_connection.h"

#include "rpc/tls/handshake.h"

#include <boost/asio/append.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>

#include <cerrno>
#include <sys/socket.h>

namespace routing::rpc {

std::shared_ptr<ClientConnection> ClientConnection::create(asio::any_io_executor executor,
                                                           std::size_t max_frame_bytes) {
  return std::make_shared<ClientConnection>(std::move(executor), max_frame_bytes);
}

ClientConnection::ClientConnection(asio::any_io_executor executor, std::size_t max_frame_bytes)
    : transport_(asio::ip::tcp::socket(executor)), decoder_(max_frame_bytes), deadline_timer_(executor), batch_(BatchedWrites::of(executor)) {}

void ClientConnection::use_tls(std::shared_ptr<const tls::Context> context, std::string host) {
  tls_context_ = std::move(context);
  tls_host_ = std::move(host);
}

asio::awaitable<error_code> ClientConnection::connect(asio::ip::tcp::endpoint endpoint) {
  auto [ec] = co_await socket_.async_connect(endpoint, use_nothrow);
  if (ec) {
    error_code ignored;
    socket_.close(ignored);
    co_return ec;
  }
  socket_.set_option(asio::ip::tcp::no_delay(true), ec);
  socket_.non_blocking(true, ec);  // for send_now
  if (tls_context_) {
    auto session = std::make_unique<tls::Session>(tls_context_, socket_.native_handle(), tls_host_,
                                                  tls::Session::Reads::fed,
                                                  tls_host_ + ":" + std::to_string(endpoint.port()));
    // The caller bounds the whole connect; this bound only keeps a forgotten one finite.
    tls_failure_ = co_await tls::async_handshake(socket_, *session, Clock::now() + std::chrono::minutes(1));
    if (!tls_failure_.empty()) {
      error_code ignored;
      socket_.close(ignored);
      co_return asio::error::connection_refused;
    }
    transport_.use_tls(std::move(session));
  }
  open_ = true;
  start_read();
  co_return error_code{};
}

void ClientConnection::start_call(std::uint32_t procedure, std::string_view payload, Clock::time_point deadline,
                                  CallHandler handler, const CallKeys& keys) {
  if (tagged_) {
    enqueue_tagged(procedure, payload, Waiting{std::move(handler), {}, deadline}, keys);
    return;
  }
  enqueue(procedure, payload, Waiting{std::move(handler), {}, deadline});
}

std::uint64_t ClientConnection::call_then(std::uint32_t procedure, std::string_view payload,
                                          Clock::time_point deadline, Callback done, const CallKeys& keys) {
  if (tagged_) return enqueue_tagged(procedure, payload, Waiting{{}, std::move(done), deadline}, keys);
  enqueue(procedure, payload, Waiting{{}, std::move(done), deadline});
  return 0;
}

void ClientConnection::start_probe(Clock::time_point deadline, asio::any_completion_handler<void(bool)> done) {
  if (!open_ || probing_ || tagged_ || !waiting_.empty()) {  // only before the first call
    asio::post(socket_.get_executor(), asio::append(std::move(done), tagged_));
    return;
  }
  probing_ = true;
  probed_.swap(done);  // not operator=: Boost 1.81's move assignment copies itself into itself
  output_ += probe_frame;
  waiting_.push_back(Waiting{{}, {}, deadline});
  if (deadline < armed_for_) arm_deadline(deadline);
  if (!writing_active_ && !flush_queued_) flush_soon();
}

void ClientConnection::cancel(std::uint64_t id) {
  if (!tagged_) return close();
  if (id == 0) return;  // the call never went out (it failed at once)
  const auto index = static_cast<std::uint32_t>(id & ((std::uint64_t{1} << slot_bits) - 1));
  if (index < slots_.size() && slots_[index].id == id && !slots_[index].given_up) {
    give_up_tagged(index, Reply::error(Status::cancelled, "cancelled"));
  }
}

void ClientConnection::enqueue(std::uint32_t procedure, std::string_view payload, Waiting waiting) {
  if (!open_) {
    complete(std::move(waiting), Reply::error(Status::unavailable, "connection is not open"));
    return;
  }
  append_frame(output_, procedure, payload);
  if (verify_answers_) append_barrier(output_);
  const auto deadline = waiting.deadline;
  waiting_.push_back(std::move(waiting));
  if (deadline < armed_for_) arm_deadline(deadline);
  if (!writing_active_ && !flush_queued_) flush_soon();
}

// At the end of the loop's turn, with the other connections' writes
// (batched_writes.h); requests made meanwhile go in the same send.
void ClientConnection::flush_soon() {
  if (batch_ == nullptr) return flush();
  flush_queued_ = true;
  batch_->write_soon([self = shared_from_this()] {
    self->flush_queued_ = false;
    if (self->open_ && !self->writing_active_) self->flush();
  }, WriteKind::request);
}

void ClientConnection::arm_deadline(Clock::time_point deadline) {
  armed_for_ = deadline;
  deadline_timer_.expires_at(deadline);  // cancels an earlier wait
  deadline_timer_.async_wait([weak = weak_from_this()](error_code ec) {
    if (auto self = weak.lock(); self && !ec) self->on_deadline_timer();
  });
}

// The earliest deadline it waited for has passed: if that call (or another)
// is still unanswered, it has missed its deadline; else wait for the next.
void ClientConnection::on_deadline_timer() {
  armed_for_ = Clock::time_point::max();
  const auto now = Clock::now();
  if (tagged_) expire_tagged(now);  // given up one by one; the connection serves on
  Clock::time_point next = armed_for_;
  bool missed = false;
  for (const auto& call : waiting_) {
    missed = missed || call.deadline <= now;
    next = std::min(next, call.deadline);
  }
  if (!missed) {
    if (next < armed_for_) arm_deadline(next);
    return;
  }
  fail_all("connection closed: an earlier call timed out", now);
}

// Writes everything queued so far in one go; calls made meanwhile are batched
// into the next write.
void ClientConnection::flush() {
  // Usually the socket has room: hand the requests over at once, without an
  // asynchronous operation (and its trip through the event loop).
  error_code ec;
  std::size_t sent = transport_.send_now(output_, ec);
  if (ec) {
    fail_all("send failed: " + ec.message());
    return;
  }
  output_.erase(0, sent);
  if (output_.empty()) return;
  writing_active_ = true;
  std::swap(output_, writing_);
  transport_.async_write(writing_,
                    [self = shared_from_this()](error_code ec, std::size_t) {
                      self->writing_.clear();
                      self->writing_active_ = false;
                      if (ec) {
                        self->fail_all("send failed: " + ec.message());
                      } else if (!self->output_.empty() && self->open_) {
                        self->flush();
                      }
                    });
}

// The read's completion handler (a callback, not a coroutine: one answer
// costs no coroutine resumption). If the event loop is destroyed while the
// read waits, the handler is destroyed without running: drop the callers'
// handlers then too, since they may own the very objects that own this
// connection (a cycle that would leak).
struct ClientConnection::OnRead {
  using allocator_type = SlotAllocator<void>;  // the read's state lives in the connection

  std::shared_ptr<ClientConnection> self;
  HandlerSlot* slot;

  explicit OnRead(std::shared_ptr<ClientConnection> connection)
      : self(std::move(connection)), slot(&self->read_slot_) {}
  OnRead(OnRead&&) noexcept = default;
  allocator_type get_allocator() const noexcept { return allocator_type(*slot); }
  ~OnRead() {
    if (!self) return;
    auto dropped = std::move(self->waiting_);
    auto dropped_tagged = std::move(self->slots_);
    auto dropped_probe = std::move(self->probed_);
  }
  void operator()(error_code ec, std::size_t bytes) {
    auto connection = std::move(self);
    connection->on_read(ec, bytes);
  }
};

// From a later turn of the loop, as the server's reads (server_connection.cpp):
// right after an answer the backend has nothing more to send, and Asio's
// immediate read attempt would be a system call that finds nothing.
// A read that emptied the socket leaves the next one waiting for epoll
// without a recv (drained_read.h): right after an answer the backend has
// nothing more to send.
void ClientConnection::start_read() {
  if (!open_) return;
  auto space = decoder_.prepare_read();
  transport_.async_read_some(asio::buffer(space.data(), space.size()), OnRead{shared_from_this()});
}

void ClientConnection::on_read(error_code ec, std::size_t bytes) {
  if (ec) {
    if (std::string why = tls_failure(); !why.empty()) return fail_all("TLS: " + why);
    fail_all(ec == asio::error::eof ? "connection closed by peer" : "receive failed: " + ec.message());
    return;
  }
  decoder_.commit(bytes);
  FrameError error = FrameError::none;
  for (;;) {
    auto result = decoder_.next(frame_, error);
    if (result == FrameDecoder::Result::need_more) break;
    if (result != FrameDecoder::Result::frame) {
      fail_all(std::string("protocol error: ") + std::string(describe(error)));
      return;
    }
    if (frame_.id != 0 && !probing_) {  // a tagged answer
      if (!on_tagged_answer()) {
        fail_all("protocol error: a tagged answer to no call of this connection");
        return;
      }
      if (!open_) return;
      continue;
    }
    if (waiting_.empty()) {
      fail_all("protocol error: answer without a request");
      return;
    }
    if (probing_) {  // the probe is the first request, so this is its answer
      Waiting probe = std::move(waiting_.front());
      waiting_.pop_front();
      on_probe_answer(std::move(probe));
      if (!open_) return;
      continue;
    }
    if (verify_answers_) {
      auto read = barrier_.next(frame_);
      if (read == AnswerBarrier::Read::held) continue;
      if (read == AnswerBarrier::Read::broken) {
        fail_all("protocol error: the backend sent a frame no call asked for (an answer twice?)");
        return;
      }
    }
    ++answers_received_;
    Waiting call = std::move(waiting_.front());
    waiting_.pop_front();
    Reply reply{static_cast<Status>(frame_.number), std::move(frame_.payload)};
    deliver(std::move(call), reply);
    if (!open_) return;
  }
  start_read();
}

// The answer goes to its caller inline (no trip through the queue); the
// caller may start its next call on this connection or close it, so the
// reader checks again.
void ClientConnection::deliver(Waiting call, Reply& reply) {
  if (call.callback) {
    call.callback(reply, true);
    frame_.payload = std::move(reply.payload);  // the decoder reuses the buffer, unless taken
  } else {
    asio::dispatch(asio::append(std::move(call.handler), std::move(reply)));
  }
}

void ClientConnection::on_probe_answer(Waiting probe) {
  const ProbeAnswer answer = read_probe_answer(frame_);
  if (answer == ProbeAnswer::unusable) {
    // E.g. 14#1 or 14: from a server that is stopping, 8: from one at its
    // connection limit: no use for this connection, and no call was sent.
    // fail_all completes the probe (false) while probing_ is still set.
    waiting_.push_front(std::move(probe));  // the place fail_all takes back
    fail_all("the backend answered the probe " + std::to_string(frame_.number) + "#" + std::to_string(frame_.id));
    return;
  }
  probing_ = false;
  tagged_ = answer == ProbeAnswer::tagged;
  // Else a version-1 server refused the tagged frame (`3:...`): line protocol.
  asio::dispatch(asio::append(std::move(probed_), tagged_));
}

void ClientConnection::close() { fail_all("connection closed"); }

bool ClientConnection::peer_looks_open() {
  if (!open_) return false;
  return transport_.peer_looks_open();
}

std::string ClientConnection::describe_connect_error(const error_code& ec) const {
  if (!tls_failure_.empty()) return "TLS handshake failed: " + tls_failure_;
  return ec.message();
}

std::string ClientConnection::tls_failure() const {
  return transport_.tls() ? transport_.tls()->failure() : std::string();
}

bool ClientConnection::resumed_tls_session() const { return transport_.tls() && transport_.tls()->resumed(); }

// Closes the socket and completes every outstanding call with `reason`, or
// with status 4 those whose deadline is at or before `timed_out_by`.
void ClientConnection::fail_all(std::string_view reason, Clock::time_point timed_out_by) {
  const bool was_open = open_;
  open_ = false;
  barrier_.reset();
  error_code ignored;
  socket_.close(ignored);
  output_.clear();
  armed_for_ = Clock::time_point::max();
  deadline_timer_.cancel();
  if (was_open) fail_tagged(reason);
  if (probing_) {
    probing_ = false;
    asio::post(socket_.get_executor(), asio::append(std::move(probed_), false));
    waiting_.pop_front();  // the probe's place
  }
  auto waiting = std::move(waiting_);
  waiting_.clear();
  while (!waiting.empty()) {
    Waiting call = std::move(waiting.front());
    waiting.pop_front();
    // Read before `call` is moved from (argument order is unspecified).
    Reply reply = call.deadline <= timed_out_by ? Reply::error(Status::deadline_exceeded, "no answer by the deadline")
                                                : Reply::error(Status::unavailable, std::string(reason));
    complete(std::move(call), std::move(reply));
  }
}

// Failures are posted, never run inline: a caller that retries at once on a
// closed connection would otherwise recurse without bound.
void ClientConnection::complete(Waiting call, Reply reply) {
  if (call.callback) {
    asio::post(socket_.get_executor(), [done = std::move(call.callback), reply = std::move(reply)]() mutable {
      done(reply, false);
    });
    return;
  }
  if (!call.handler) return;
  // post() goes through the handler's own executor (e.g. its coroutine's).
  asio::post(socket_.get_executor(), asio::append(std::move(call.handler), std::move(reply)));
}

}  // namespace routing::rpc
