#include "routing/live_options.h"

namespace routing::core {

LiveOptions::LiveOptions(RouterOptions first) {
  versions_.push_back(std::make_unique<const RouterOptions>(std::move(first)));
  current_.store(versions_.back().get(), std::memory_order_release);
}

void LiveOptions::replace(RouterOptions next) {
  std::lock_guard lock(mutex_);
  versions_.push_back(std::make_unique<const RouterOptions>(std::move(next)));
  current_.store(versions_.back().get(), std::memory_order_release);
}

std::size_t LiveOptions::versions() const {
  std::lock_guard lock(mutex_);
  return versions_.size();
}

}  // namespace routing::core
