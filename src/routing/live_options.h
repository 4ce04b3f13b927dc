#pragma once
// The router's settings as they are now. routerd's SIGHUP replaces them while
// calls run (RouterCore::reconfigure), so everything that reads a setting
// during a call or a loop reads it here, each time, instead of keeping a
// copy: a call in flight sees either the old or the new settings of one
// field, never a torn value.
//
// Readers pay one acquire load (a plain load on x86). Replaced versions are
// kept until the router ends, because a reader may still hold a reference
// to one: a reload that changes nothing of the router's adds nothing, and a
// version is a few hundred bytes, so even thousands of reloads cost little.
#include <routing/router.h>

#include <atomic>
#include <memory>
#include <mutex>
#include <vector>

namespace routing::core {

class LiveOptions {
 public:
  explicit LiveOptions(RouterOptions first);
  LiveOptions(const LiveOptions&) = delete;
  LiveOptions& operator=(const LiveOptions&) = delete;

  const RouterOptions& get() const { return *current_.load(std::memory_order_acquire); }
  // Makes `next` the settings in force. Not validated here (RouterCore is).
  void replace(RouterOptions next);
  // How many versions exist (1 + the replacements): for tests and figures.
  std::size_t versions() const;

 private:
  mutable std::mutex mutex_;
  std::vector<std::unique_ptr<const RouterOptions>> versions_;  // under mutex_
  std::atomic<const RouterOptions*> current_;
};

}  // namespace routing::core
