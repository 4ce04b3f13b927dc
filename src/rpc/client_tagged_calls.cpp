// ClientConnection's tagged calls (CONTRACT §8): each call takes a slot whose
// index is part of its id, is written with its remaining deadline, trace
// context and request id, and is matched with its answer by id. A call that
// misses its deadline or is cancelled is completed at once and the server is
// told (`0#<ping>;cancel=<id>:`); its slot stays taken until the server's
// answer for it arrives, so an id is never reused while the server may still
// answer it.
#include "rpc/client_connection.h"

#include <boost/asio/post.hpp>

namespace routing::rpc {
namespace {

constexpr std::uint64_t index_mask(unsigned bits) { return (std::uint64_t{1} << bits) - 1; }

}  // namespace

std::uint32_t ClientConnection::open_slot() {
  if (!free_slots_.empty()) {
    auto index = free_slots_.back();
    free_slots_.pop_back();
    return index;
  }
  if (slots_.size() > index_mask(slot_bits)) return static_cast<std::uint32_t>(-1);
  slots_.emplace_back();
  return static_cast<std::uint32_t>(slots_.size() - 1);
}

void ClientConnection::free_slot(std::uint32_t index) {
  Slot& slot = slots_[index];
  slot.id = 0;
  slot.given_up = false;
  slot.call = Waiting{};
  free_slots_.push_back(index);
}

std::uint64_t ClientConnection::enqueue_tagged(std::uint32_t procedure, std::string_view payload, Waiting waiting,
                                               const CallKeys& keys) {
  if (!open_) {
    complete(std::move(waiting), Reply::error(Status::unavailable, "connection is not open"));
    return 0;
  }
  FrameKeysView view{.traceparent = keys.traceparent, .request_id = keys.request_id};
  if (waiting.deadline != Clock::time_point::max()) {
    const auto left = waiting.deadline - Clock::now();
    if (left <= Clock::duration::zero()) {
      complete(std::move(waiting), Reply::error(Status::deadline_exceeded, "no time left to send the call"));
      return 0;
    }
    view.deadline_ms = deadline_ms_for(std::chrono::duration_cast<std::chrono::nanoseconds>(left).count());
  }
  const std::uint32_t index = open_slot();
  if (index == static_cast<std::uint32_t>(-1)) {
    complete(std::move(waiting), Reply::error(Status::resource_exhausted, "too many calls on one connection"));
    return 0;
  }
  const std::uint64_t id = (++serial_ << slot_bits) | index;
  append_tagged_frame(output_, procedure, id, payload, view);
  const auto deadline = waiting.deadline;
  Slot& slot = slots_[index];
  slot.call = std::move(waiting);
  slot.id = id;
  ++tagged_in_flight_;
  if (deadline < armed_for_) arm_deadline(deadline);
  if (!writing_active_ && !flush_queued_) flush_soon();
  return id;
}

void ClientConnection::give_up_tagged(std::uint32_t index, Reply reply) {
  const std::uint64_t id = slots_[index].id;
  Waiting call = std::move(slots_[index].call);
  slots_[index].given_up = true;
  --tagged_in_flight_;
  complete(std::move(call), std::move(reply));
  // The cancel is a ping with an id of its own, whose pong is dropped too.
  const std::uint32_t ping = open_slot();
  if (ping == static_cast<std::uint32_t>(-1)) return;  // the server gives up at its deadline anyway
  Slot& ping_slot = slots_[ping];
  ping_slot.id = (++serial_ << slot_bits) | ping;
  ping_slot.given_up = true;
  append_tagged_frame(output_, 0, ping_slot.id, {}, FrameKeysView{.cancel = id});
  if (!writing_active_ && !flush_queued_) flush_soon();
}

bool ClientConnection::on_tagged_answer() {
  const std::uint64_t id = frame_.id;
  const auto index = static_cast<std::uint32_t>(id & index_mask(slot_bits));
  if (index >= slots_.size() || slots_[index].id != id) return false;
  if (slots_[index].given_up) {  // its caller was answered already
    free_slot(index);
    return true;
  }
  Waiting call = std::move(slots_[index].call);
  free_slot(index);
  --tagged_in_flight_;
  ++answers_received_;
  Reply reply{static_cast<Status>(frame_.number), std::move(frame_.payload)};
  deliver(std::move(call), reply);
  return true;
}

// One timer per connection, at the earliest deadline; each call past its
// deadline is given up alone, and the timer waits for the next.
void ClientConnection::expire_tagged(Clock::time_point now) {
  Clock::time_point next = Clock::time_point::max();
  for (std::uint32_t index = 0; index < slots_.size(); ++index) {
    const Slot& slot = slots_[index];
    if (slot.id == 0 || slot.given_up) continue;
    if (slot.call.deadline <= now) {
      give_up_tagged(index, Reply::error(Status::deadline_exceeded, "no answer by the deadline"));
    } else {
      next = std::min(next, slot.call.deadline);
    }
  }
  if (next != Clock::time_point::max() && next < armed_for_) arm_deadline(next);
}

void ClientConnection::fail_tagged(std::string_view reason) {
  auto slots = std::move(slots_);
  slots_.clear();
  free_slots_.clear();
  tagged_in_flight_ = 0;
  for (Slot& slot : slots) {
    if (slot.id == 0 || slot.given_up) continue;
    complete(std::move(slot.call), Reply::error(Status::unavailable, std::string(reason)));
  }
}

}  // namespace routing::rpc
