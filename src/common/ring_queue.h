#pragma once
// A first-in first-out queue in one ring buffer that keeps its capacity.
//
// std::deque frees and allocates a block every few elements when a queue
// keeps a steady length while its elements move through it (push at the
// back, pop at the front): a connection's calls awaiting answers, a
// backend's idle connections. Each such allocation was on the routed call's
// path; this queue allocates only when it grows past its largest length so
// far (tests/perf/allocation_test.cpp guards that). Single-threaded.
#include <cassert>
#include <cstddef>
#include <optional>
#include <utility>
#include <vector>

namespace routing::common {

template <class T>
class RingQueue {
 public:
  RingQueue() = default;
  RingQueue(RingQueue&& other) noexcept
      : slots_(std::move(other.slots_)), head_(std::exchange(other.head_, 0)), size_(std::exchange(other.size_, 0)) {
    other.slots_.clear();
  }
  RingQueue& operator=(RingQueue&& other) noexcept {
    if (this != &other) {
      slots_ = std::move(other.slots_);
      other.slots_.clear();
      head_ = std::exchange(other.head_, 0);
      size_ = std::exchange(other.size_, 0);
    }
    return *this;
  }

  bool empty() const noexcept { return size_ == 0; }
  std::size_t size() const noexcept { return size_; }
  std::size_t capacity() const noexcept { return slots_.size(); }

  T& front() {
    assert(size_ > 0);
    return *slots_[head_];
  }
  const T& front() const {
    assert(size_ > 0);
    return *slots_[head_];
  }

  void push_back(T value) {
    if (size_ == slots_.size()) grow();
    slots_[(head_ + size_) & (slots_.size() - 1)].emplace(std::move(value));
    ++size_;
  }
  // Back at the head, as if it had never left it (a lent element returned).
  void push_front(T value) {
    if (size_ == slots_.size()) grow();
    head_ = (head_ + slots_.size() - 1) & (slots_.size() - 1);
    slots_[head_].emplace(std::move(value));
    ++size_;
  }
  void pop_front() {
    assert(size_ > 0);
    slots_[head_].reset();
    head_ = (head_ + 1) & (slots_.size() - 1);
    --size_;
  }
  // Destroys the elements, keeps the capacity.
  void clear() noexcept {
    while (size_ > 0) pop_front();
    head_ = 0;
  }

  // Oldest first.
  class const_iterator {
   public:
    const_iterator(const RingQueue* queue, std::size_t index) : queue_(queue), index_(index) {}
    const T& operator*() const { return *queue_->slots_[(queue_->head_ + index_) & (queue_->slots_.size() - 1)]; }
    const T* operator->() const { return &**this; }
    const_iterator& operator++() {
      ++index_;
      return *this;
    }
    bool operator==(const const_iterator& other) const { return index_ == other.index_; }

   private:
    const RingQueue* queue_;
    std::size_t index_;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, size_}; }

 private:
  // Doubles the ring (a power of two, so positions wrap with a mask) and
  // moves the elements to its start, oldest first.
  void grow() {
    std::vector<std::optional<T>> bigger(slots_.empty() ? 4 : slots_.size() * 2);
    for (std::size_t i = 0; i < size_; ++i) {
      auto& slot = slots_[(head_ + i) & (slots_.size() - 1)];
      bigger[i].emplace(std::move(*slot));
      slot.reset();
    }
    slots_ = std::move(bigger);
    head_ = 0;
  }

  std::vector<std::optional<T>> slots_;
  std::size_t head_ = 0;  // the oldest element's slot
  std::size_t size_ = 0;
};

}  // namespace routing::common
