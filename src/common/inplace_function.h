#pragma once
// A move-only std::function that never allocates: the callable lives in a
// fixed buffer inside the object (a compile error if it does not fit). For
// per-call callbacks on hot paths, where std::function would allocate for
// any capture that owns something (a shared_ptr, a string).
#include <cstddef>
#include <new>
#include <type_traits>
#include <utility>

namespace routing::common {

template <class Signature, std::size_t Capacity = 64>
class InplaceFunction;

template <class R, class... Args, std::size_t Capacity>
class InplaceFunction<R(Args...), Capacity> {
 public:
  InplaceFunction() = default;

  template <class F, class = std::enable_if_t<!std::is_same_v<std::decay_t<F>, InplaceFunction>>>
  InplaceFunction(F&& f) {  // NOLINT: implicit, like std::function
    using Stored = std::decay_t<F>;
    static_assert(sizeof(Stored) <= Capacity, "callable too large for this InplaceFunction");
    static_assert(alignof(Stored) <= alignof(std::max_align_t), "callable over-aligned");
    static_assert(std::is_nothrow_move_constructible_v<Stored>, "callable must be nothrow-movable");
    ::new (static_cast<void*>(storage_)) Stored(std::forward<F>(f));
    ops_ = &ops_for<Stored>;
  }

  InplaceFunction(InplaceFunction&& other) noexcept { take(other); }
  InplaceFunction& operator=(InplaceFunction&& other) noexcept {
    if (this != &other) {
      reset();
      take(other);
    }
    return *this;
  }
  InplaceFunction(const InplaceFunction&) = delete;
  InplaceFunction& operator=(const InplaceFunction&) = delete;
  ~InplaceFunction() { reset(); }

  explicit operator bool() const noexcept { return ops_ != nullptr; }
  R operator()(Args... args) { return ops_->invoke(storage_, std::forward<Args>(args)...); }

 private:
  struct Ops {
    R (*invoke)(void*, Args&&...);
    void (*move_to)(void* from, void* to) noexcept;
    void (*destroy)(void*) noexcept;
  };
  template <class Stored>
  static constexpr Ops ops_for{
      [](void* self, Args&&... args) -> R { return (*static_cast<Stored*>(self))(std::forward<Args>(args)...); },
      [](void* from, void* to) noexcept {
        ::new (to) Stored(std::move(*static_cast<Stored*>(from)));
        static_cast<Stored*>(from)->~Stored();
      },
      [](void* self) noexcept { static_cast<Stored*>(self)->~Stored(); }};

  void take(InplaceFunction& other) noexcept {
    if (other.ops_ == nullptr) return;
    other.ops_->move_to(other.storage_, storage_);
    ops_ = std::exchange(other.ops_, nullptr);
  }
  void reset() noexcept {
    if (ops_ != nullptr) std::exchange(ops_, nullptr)->destroy(storage_);
  }

  alignas(std::max_align_t) unsigned char storage_[Capacity];
  const Ops* ops_ = nullptr;
};

}  // namespace routing::common
