#pragma once
// The tagged calls (CONTRACT §8) of one server connection: a slot per call
// from the moment it is read until its handler lets go of it (its Responder
// answers or is destroyed), and the ids of those still to be answered. A
// call given up early (cancelled, past its deadline) is answered by the
// connection at once and leaves the id table, so the client may reuse its
// id, while its slot stays taken until the handler is done with it.
// Single-threaded: the connection's loop.
#include "rpc/server.h"

#include <deque>
#include <optional>
#include <unordered_map>
#include <vector>

namespace routing::rpc {

struct TaggedCall {
  explicit TaggedCall(ConnectionContext& connection) : call(connection) {}
  CallContext call;
  bool answerable = false;  // in the id table: the client still waits for an answer
};

class TaggedCalls {
 public:
  using Clock = std::chrono::steady_clock;

  explicit TaggedCalls(ConnectionContext& connection) : connection_(connection) {}

  // True when `id` waits for an answer on this connection.
  bool in_flight(std::uint64_t id) const { return ids_.contains(id); }
  // Slots taken, answered or not (what max_calls_per_connection bounds).
  std::size_t held() const { return held_; }
  std::size_t answerable() const { return ids_.size(); }

  // Takes a slot for the call `id` (not in flight) and returns it.
  std::uint32_t open(std::uint64_t id, Clock::time_point deadline);
  TaggedCall& at(std::uint32_t slot) { return slots_[slot]; }
  // The slot of the answerable call `id`, if any.
  std::optional<std::uint32_t> find(std::uint64_t id) const;
  // The call will be answered now: it leaves the id table. False if it had
  // left already (answered when it was given up).
  bool take_answer(std::uint32_t slot);
  // The handler let go: the slot is free for the next call.
  void release(std::uint32_t slot);

  // The earliest deadline of the calls still answerable (max() if none).
  Clock::time_point earliest_deadline() const;
  // Slots of answerable calls, e.g. to give them all up.
  std::vector<std::uint32_t> answerable_slots() const;
  // Slots of answerable calls whose deadline is at or before `now`.
  std::vector<std::uint32_t> overdue(Clock::time_point now) const;

 private:
  ConnectionContext& connection_;
  std::deque<TaggedCall> slots_;  // a deque: a CallContext never moves while a handler holds it
  std::vector<std::uint32_t> free_;
  std::unordered_map<std::uint64_t, std::uint32_t> ids_;  // answerable calls: id -> slot
  std::size_t held_ = 0;
};

}  // namespace routing::rpc
