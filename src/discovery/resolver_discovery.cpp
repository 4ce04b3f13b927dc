#include "discovery/resolver_discovery.h"

#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>

namespace routing::discovery {
namespace asio = boost::asio;

namespace {

// The router compares sets and expects them sorted (AddressSet).
std::vector<std::string> sorted_unique(std::vector<std::string> addresses) {
  std::sort(addresses.begin(), addresses.end());
  addresses.erase(std::unique(addresses.begin(), addresses.end()), addresses.end());
  return addresses;
}

// One watch: the user's handle, and a flag that stops deliveries already
// posted but not yet run (stop() may come from any thread).
class ResolverWatchHandle : public WatchHandle {
 public:
  explicit ResolverWatchHandle(std::shared_ptr<std::atomic<bool>> stopped) : stopped_(std::move(stopped)) {}
  void attach(std::unique_ptr<ResolverWatch> watch) { watch_ = std::move(watch); }
  void stop() override {
    *stopped_ = true;
    std::lock_guard lock(mutex_);
    watch_.reset();
  }
  ~ResolverWatchHandle() override { stop(); }

 private:
  std::shared_ptr<std::atomic<bool>> stopped_;
  std::mutex mutex_;
  std::unique_ptr<ResolverWatch> watch_;
};

}  // namespace

ResolverDiscovery::ResolverDiscovery(asio::any_io_executor executor, std::shared_ptr<Resolver> resolver)
    : executor_(std::move(executor)), resolver_(std::move(resolver)) {}

asio::awaitable<Result<AddressSet>> ResolverDiscovery::list(std::string name) {
  // `done` may run on any thread, even inside resolve(): the completion is
  // posted back to this coroutine's executor either way.
  auto initiate = [this, &name](auto handler) {
    auto shared = std::make_shared<decltype(handler)>(std::move(handler));
    resolver_->resolve(name, [shared](Resolution answer) {
      auto executor = asio::get_associated_executor(*shared);
      asio::post(executor, [shared, answer = std::move(answer)]() mutable { (*shared)(std::move(answer)); });
    });
  };
  Resolution answer = co_await asio::async_initiate<decltype(asio::use_awaitable), void(Resolution)>(
      initiate, asio::use_awaitable);
  if (answer.status != Status::ok) {
    co_return Result<AddressSet>::failure(answer.status, answer.error.empty() ? "resolver failed" : answer.error);
  }
  co_return Result<AddressSet>{Status::ok, {}, AddressSet{sorted_unique(std::move(answer.addresses)), 1, {}}};
}

asio::awaitable<Result<std::string>> ResolverDiscovery::query(std::string name) {
  auto listed = co_await list(name);
  if (!listed.ok()) co_return Result<std::string>::failure(listed.status, listed.error);
  const auto& addresses = listed.value.addresses;
  if (addresses.empty()) co_return Result<std::string>::failure(Status::not_found, "no instance of '" + name + "'");
  thread_local std::mt19937 rng{std::random_device{}()};
  co_return Result<std::string>{Status::ok, {}, addresses[rng() % addresses.size()]};
}

asio::awaitable<Result<std::chrono::milliseconds>> ResolverDiscovery::announce(std::string, std::string,
                                                                               std::chrono::milliseconds, Placement) {
  co_return Result<std::chrono::milliseconds>::failure(Status::unimplemented, "a custom resolver cannot register");
}

asio::awaitable<Result<bool>> ResolverDiscovery::withdraw(std::string, std::string) {
  co_return Result<bool>::failure(Status::unimplemented, "a custom resolver cannot deregister");
}

std::unique_ptr<WatchHandle> ResolverDiscovery::watch(std::string name, WatchCallback on_change) {
  auto stopped = std::make_shared<std::atomic<bool>>(false);
  auto handle = std::make_unique<ResolverWatchHandle>(stopped);
  // Each change gets a higher index, as the other backends' sets do.
  auto index = std::make_shared<std::atomic<std::uint64_t>>(1);
  auto deliver = std::make_shared<WatchCallback>(std::move(on_change));
  handle->attach(resolver_->watch(name, [executor = executor_, stopped, index, deliver](
                                            std::vector<std::string> addresses) {
    AddressSet set{sorted_unique(std::move(addresses)), ++*index, {}};
    asio::post(executor, [stopped, deliver, set = std::move(set)] {
      if (!*stopped) (*deliver)(set);
    });
  }));
  return handle;
}

}  // namespace routing::discovery
