#include "routing/unknown_names.h"

namespace routing::core {

bool UnknownNames::contains(std::string_view name, Clock::time_point now) {
  if (by_name_.empty()) return false;
  expire(now);
  return by_name_.count(name) != 0;
}

void UnknownNames::add(std::string_view name, Clock::time_point now) {
  if (capacity_ == 0) return;
  erase(name);
  expire(now);
  while (by_name_.size() >= capacity_) {
    drop_front();
    ++evicted_;
  }
  entries_.push_back(Entry{std::string(name), now + ttl_});
  auto last = std::prev(entries_.end());
  by_name_.emplace(last->name, last);
}

void UnknownNames::erase(std::string_view name) {
  auto it = by_name_.find(name);
  if (it == by_name_.end()) return;
  auto entry = it->second;
  by_name_.erase(it);
  entries_.erase(entry);
}

void UnknownNames::expire(Clock::time_point now) {
  while (!entries_.empty() && entries_.front().expires <= now) drop_front();
}

void UnknownNames::drop_front() {
  by_name_.erase(entries_.front().name);
  entries_.pop_front();
}

}  // namespace routing::core
