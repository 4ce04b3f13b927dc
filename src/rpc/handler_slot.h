#pragma once
// Memory for the one operation of a kind that a connection has in flight at
// a time (its read). Asio allocates each operation's state through the
// completion handler's associated allocator; the default is a small
// per-thread cache, which misses (a malloc and a free per read) once many
// connections have a read pending at once. With this slot, bound to the read
// handler (asio::bind_allocator or an allocator_type member), the state lives
// in the connection. Larger requests, or a second one while the slot is taken,
// fall back to the heap. Single-threaded, like the connection that owns it.
//
// Asio frees an operation's memory before it invokes (or destroys) the
// handler, from the handler's moved-out copy: the handler must keep the
// slot's owner alive (the connections' read handlers hold a shared_ptr to it).
#include <cstddef>
#include <new>

namespace routing::rpc {

class HandlerSlot {
 public:
  HandlerSlot() = default;
  HandlerSlot(const HandlerSlot&) = delete;
  HandlerSlot& operator=(const HandlerSlot&) = delete;

  void* allocate(std::size_t size) {
    if (!in_use_ && size <= sizeof(storage_)) {
      in_use_ = true;
      return storage_;
    }
    return ::operator new(size);
  }
  void deallocate(void* memory) noexcept {
    if (memory == storage_) {
      in_use_ = false;
    } else {
      ::operator delete(memory);
    }
  }

 private:
  alignas(std::max_align_t) unsigned char storage_[256];
  bool in_use_ = false;
};

template <class T>
class SlotAllocator {
 public:
  using value_type = T;

  explicit SlotAllocator(HandlerSlot& slot) noexcept : slot_(&slot) {}
  template <class U>
  SlotAllocator(const SlotAllocator<U>& other) noexcept : slot_(other.slot()) {}  // NOLINT: rebinding

  T* allocate(std::size_t n) {
    static_assert(alignof(T) <= alignof(std::max_align_t), "over-aligned operation state");
    return static_cast<T*>(slot_->allocate(sizeof(T) * n));
  }
  void deallocate(T* memory, std::size_t) noexcept { slot_->deallocate(memory); }
  HandlerSlot* slot() const noexcept { return slot_; }

  template <class U>
  bool operator==(const SlotAllocator<U>& other) const noexcept {
    return slot_ == other.slot();
  }

 private:
  HandlerSlot* slot_;
};

}  // namespace routing::rpc
