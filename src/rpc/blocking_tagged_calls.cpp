// BlockingConnection's tagged calls (CONTRACT §8), shared by the threads
// that call at once. Each call registers, sends its frame (one thread at a
// time writes), then waits for its answer. Nobody owns the reading: the first
// waiting thread that finds nobody reading reads for everyone, hands each
// answer it decodes to its caller (a condition variable each), and when its
// own answer is in, wakes one still waiting to read next. So the socket is
// read by one thread at a time, answers batched in one read cost one system
// call, and no thread of our own is added.
#include "rpc/blocking_connection.h"

#include <sys/socket.h>

#include <algorithm>

namespace routing::rpc {

bool BlockingConnection::exchange_tagged(std::uint32_t procedure, std::string_view payload,
                                         Clock::time_point deadline, Reply& reply, const CallKeys& keys) {
  TaggedCall call;
  const bool ok = send_tagged(call, procedure, payload, deadline, keys) && receive_tagged(call, deadline);
  reply = std::move(call.reply);
  return ok;
}

bool BlockingConnection::send_tagged(TaggedCall& call, std::uint32_t procedure, std::string_view payload,
                                     Clock::time_point deadline, const CallKeys& keys) {
  // Sent for another thread: once the call is answered that thread may reuse
  // `call`, so nothing here reads it after the send but to end it unsent.
  const bool for_another = call.waker != nullptr;
  call.answered = call.ok = call.sent = false;
  const auto left = deadline - Clock::now();
  std::unique_lock lock(mutex_);
  if (left <= Clock::duration::zero() || broken_.load(std::memory_order_relaxed)) {
    end_unsent(call, left <= Clock::duration::zero() ? Status::deadline_exceeded : Status::unavailable,
               left <= Clock::duration::zero() ? "deadline passed before sending" : "connection is not open");
    return false;
  }
  call.id = last_id_.fetch_add(1, std::memory_order_relaxed) + 1;
  calls_.push_back(&call);  // before sending: another thread may read the answer
  lock.unlock();
  const FrameKeysView view{
      .deadline_ms = deadline_ms_for(std::chrono::duration_cast<std::chrono::nanoseconds>(left).count()),
      .traceparent = keys.traceparent,
      .request_id = keys.request_id};
  Io sent_io;
  std::size_t sent = 0;
  {
    std::lock_guard send_lock(send_mutex_);
    request_.clear();
    append_tagged_frame(request_, procedure, call.id, payload, view);
    sent_io = send_all(request_, deadline, sent);
  }
  lock.lock();
  if (sent_io == Io::done) {
    if (call.answered) return true;  // already (or the connection failed meanwhile)
    call.sent = true;
    // The thread it was sent for may be asleep: someone reads if nobody does.
    if (for_another) hand_reading_on();
    return true;
  }
  // Not answered (the server never had the whole frame), so still ours,
  // unless the connection failed meanwhile (fail_all ended it).
  if (sent == 0 && sent_io == Io::timed_out) {  // nothing went out: only this call ends
    if (forget(call)) end_unsent(call, Status::deadline_exceeded, "deadline passed before sending");
    hand_reading_on();  // it may have been asked to read for the others
    return false;
  }
  // Part of a frame, or a broken socket: the stream is of no use to anyone.
  fail_all(sent_io == Io::timed_out ? "deadline exceeded sending" : "send failed");
  return false;
}

// A call that never went out ends with `status`; its waiter is told.
void BlockingConnection::end_unsent(TaggedCall& call, Status status, const char* why) {
  call.reply = Reply::error(status, why);
  call.answered = true;
  wake(call);
}

// Until `call` is answered, failed, or past `deadline` (then given up alone).
bool BlockingConnection::receive_tagged(TaggedCall& call, Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  call.waker = nullptr;  // this thread waits on the call's condition variable now
  call.sent = true;
  while (!call.answered) {
    if (!reading_) {
      read_for_everyone(lock, call, deadline);
    } else {
      call.wake.wait_until(lock, deadline);
    }
    if (!call.answered && Clock::now() >= deadline) {
      forget(call);
      hand_reading_on();
      lock.unlock();
      call.reply = Reply::error(Status::deadline_exceeded, "no answer by the deadline");
      send_cancel(call.id);  // the server stops working on it (CONTRACT §8)
      return false;
    }
  }
  hand_reading_on();
  return call.ok;
}

void BlockingConnection::wake(TaggedCall& call) {
  if (call.waker) {
    call.waker->wake();
  } else {
    call.wake.notify_one();
  }
}

// One read on behalf of every waiting call, with `mutex_` released while it
// blocks; then each answer read goes to its caller (still as the reader, so
// that none of them is woken to read meanwhile).
void BlockingConnection::read_for_everyone(std::unique_lock<std::mutex>& lock, TaggedCall& mine,
                                           Clock::time_point deadline) {
  reading_ = true;
  lock.unlock();
  const Io io = read_some(deadline);
  lock.lock();
  if (io == Io::closed || io == Io::failed) {
    reading_ = false;
    fail_all(io == Io::closed ? "connection closed by peer" : "receive failed");
    return;
  }
  for (;;) {
    FrameError error = FrameError::none;
    auto result = decoder_.next(frame_, error);
    if (result == FrameDecoder::Result::need_more) break;
    if (result != FrameDecoder::Result::frame) {
      reading_ = false;
      fail_all(std::string("protocol error: ") + std::string(describe(error)));
      return;
    }
    if (frame_.id == 0) {  // untagged: the server could not read one of our frames
      reading_ = false;
      fail_all("protocol error: untagged answer " + std::to_string(frame_.number) + ": " + frame_.payload);
      return;
    }
    auto found = std::find_if(calls_.begin(), calls_.end(), [&](TaggedCall* c) { return c->id == frame_.id; });
    // Else the late answer of a call given up, or a cancel's pong.
    if (found == calls_.end()) continue;
    TaggedCall& answered = **found;
    answered.reply = Reply{static_cast<Status>(frame_.number), std::move(frame_.payload)};
    answered.ok = true;
    forget(answered);
    if (&answered != &mine) wake(answered);
  }
  reading_ = false;
}

// Off the list of waiting calls (answered, failed or given up).
bool BlockingConnection::forget(TaggedCall& call) {
  auto found = std::find(calls_.begin(), calls_.end(), &call);
  if (found == calls_.end()) return false;
  calls_.erase(found);
  call.answered = true;
  return true;
}

// Someone must go on reading for the calls still waiting when nobody is.
void BlockingConnection::hand_reading_on() {
  if (reading_) return;
  // Not one still sending: it could not read before its frame is out.
  auto waiting = std::find_if(calls_.begin(), calls_.end(), [](const TaggedCall* c) { return c->sent; });
  if (waiting == calls_.end()) return;  // the first to wait will read
  TaggedCall& next = **waiting;
  if (next.waker) {
    next.waker->read_when_ready(fd_);  // it sleeps on until there is something to read
  } else {
    next.wake.notify_one();
  }
}

void BlockingConnection::fail_all(std::string_view why) {
  if (!broken_.exchange(true, std::memory_order_relaxed)) ::shutdown(fd_, SHUT_RDWR);
  for (TaggedCall* call : calls_) {
    call->reply = Reply::error(Status::unavailable, std::string(why));
    call->answered = true;
    wake(*call);
  }
  calls_.clear();
}

// Best effort: a cancel that cannot go out at once is not worth waiting
// for (the server gives up at the call's deadline anyway).
void BlockingConnection::send_cancel(std::uint64_t id) {
  if (broken_.load(std::memory_order_relaxed)) return;
  const std::uint64_t ping = last_id_.fetch_add(1, std::memory_order_relaxed) + 1;
  std::lock_guard lock(send_mutex_);
  request_.clear();
  append_tagged_frame(request_, 0, ping, "", FrameKeysView{.cancel = id});
  std::size_t sent = 0;
  const Io io = send_all(request_, Clock::now() + std::chrono::milliseconds(100), sent);
  // Unsent, it does no harm; part of a frame, or a broken socket, does.
  if (io != Io::done && (sent > 0 || io != Io::timed_out)) {
    std::lock_guard calls_lock(mutex_);
    fail_all("cancel could not be sent");
  }
}

}  // namespace routing::rpc
