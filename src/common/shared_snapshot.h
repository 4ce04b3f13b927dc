#pragma once
// A shared_ptr that one thread replaces while others read it (a TLS
// context, a policy, on reload). Under a mutex, not
// std::atomic<std::shared_ptr>: libstdc++ 12's load() unlocks with a
// relaxed store, a race ThreadSanitizer reports, and the costs are the same
// (one locked instruction each way). The value replaced is released outside
// the lock.
#include <memory>
#include <mutex>
#include <utility>

namespace routing::common {

template <class T>
class SharedSnapshot {
 public:
  SharedSnapshot() = default;
  explicit SharedSnapshot(std::shared_ptr<T> value) : value_(std::move(value)) {}

  std::shared_ptr<T> load() const {
    std::lock_guard lock(mutex_);
    return value_;
  }
  void store(std::shared_ptr<T> value) {
    {
      std::lock_guard lock(mutex_);
      std::swap(value_, value);
    }
    // `value` (the old one) is released here, outside the lock.
  }

 private:
  mutable std::mutex mutex_;
  std::shared_ptr<T> value_;
};

}  // namespace routing::common
