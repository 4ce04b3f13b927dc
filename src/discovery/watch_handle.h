#pragma once
#include "discovery/discovery.h"

#include <memory>

namespace routing::discovery {

// The handle of a self-sustaining watch loop: it owns nothing but the right
// to stop it, and stops it when destroyed.
template <typename Loop>
std::unique_ptr<WatchHandle> handle_for(std::shared_ptr<Loop> loop) {
  struct Handle : WatchHandle {
    std::shared_ptr<Loop> loop;
    explicit Handle(std::shared_ptr<Loop> l) : loop(std::move(l)) {}
    ~Handle() override { loop->stop(); }
    void stop() override { loop->stop(); }
  };
  return std::make_unique<Handle>(std::move(loop));
}

}  // namespace routing::discovery
