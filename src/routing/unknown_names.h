#pragma once
// Names discovery did not know when last asked (a negative cache): a call to
// one is answered 5 at once, without a system, a discovery watch or a
// discovery call, until `ttl` has passed since it was asked; then the next
// call asks again. At most `capacity` names are kept, the longest held
// forgotten first, so a burst of made-up names costs a bounded amount of
// memory and one discovery call per name per ttl (docs/reliability.md,
// "Bounds"). Not thread-safe: the system registry guards it.
#include <chrono>
#include <cstdint>
#include <list>
#include <string>
#include <string_view>
#include <unordered_map>

namespace routing::core {

class UnknownNames {
 public:
  using Clock = std::chrono::steady_clock;

  UnknownNames(std::chrono::milliseconds ttl, std::size_t capacity) : ttl_(ttl), capacity_(capacity) {}

  // True while `name` is remembered as unknown (and not expired at `now`).
  bool contains(std::string_view name, Clock::time_point now);
  // Remembers `name` as unknown from `now` (again, if it was).
  void add(std::string_view name, Clock::time_point now);
  void erase(std::string_view name);

  std::size_t size() const { return by_name_.size(); }
  std::uint64_t evicted() const { return evicted_; }  // pushed out by the capacity

 private:
  struct Entry {
    std::string name;
    Clock::time_point expires;
  };
  // Drops expired entries (all at the front: every entry lives as long).
  void expire(Clock::time_point now);
  void drop_front();

  std::chrono::milliseconds ttl_;
  std::size_t capacity_;
  std::list<Entry> entries_;  // oldest first
  std::unordered_map<std::string_view, std::list<Entry>::iterator> by_name_;  // views into entries_
  std::uint64_t evicted_ = 0;
};

}  // namespace routing::core
