#include "rpc/tagged_calls.h"

namespace routing::rpc {

std::uint32_t TaggedCalls::open(std::uint64_t id, Clock::time_point deadline) {
  std::uint32_t slot = 0;
  if (free_.empty()) {
    slot = static_cast<std::uint32_t>(slots_.size());
    slots_.emplace_back(connection_);
  } else {
    slot = free_.back();
    free_.pop_back();
  }
  TaggedCall& tagged = slots_[slot];
  tagged.call.id = id;
  tagged.call.deadline = deadline;
  tagged.call.abandoned = false;
  tagged.call.on_abandoned = nullptr;
  tagged.answerable = true;
  ids_.emplace(id, slot);
  ++held_;
  return slot;
}

std::optional<std::uint32_t> TaggedCalls::find(std::uint64_t id) const {
  auto it = ids_.find(id);
  if (it == ids_.end()) return std::nullopt;
  return it->second;
}

bool TaggedCalls::take_answer(std::uint32_t slot) {
  TaggedCall& tagged = slots_[slot];
  if (!tagged.answerable) return false;
  tagged.answerable = false;
  ids_.erase(tagged.call.id);
  return true;
}

void TaggedCalls::release(std::uint32_t slot) {
  take_answer(slot);
  TaggedCall& tagged = slots_[slot];
  tagged.call.on_abandoned = nullptr;
  tagged.call.traceparent.clear();
  tagged.call.request_id.clear();
  free_.push_back(slot);
  --held_;
}

TaggedCalls::Clock::time_point TaggedCalls::earliest_deadline() const {
  auto earliest = Clock::time_point::max();
  for (const auto& [id, slot] : ids_) earliest = std::min(earliest, slots_[slot].call.deadline);
  return earliest;
}

std::vector<std::uint32_t> TaggedCalls::answerable_slots() const {
  std::vector<std::uint32_t> slots;
  slots.reserve(ids_.size());
  for (const auto& [id, slot] : ids_) slots.push_back(slot);
  return slots;
}

std::vector<std::uint32_t> TaggedCalls::overdue(Clock::time_point now) const {
  std::vector<std::uint32_t> slots;
  for (const auto& [id, slot] : ids_) {
    if (slots_[slot].call.deadline <= now) slots.push_back(slot);
  }
  return slots;
}

}  // namespace routing::rpc
