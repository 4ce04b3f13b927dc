#include "discovery/static_discovery.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <random>

namespace routing::discovery {
namespace asio = boost::asio;

StaticDiscovery::StaticDiscovery(asio::any_io_executor executor,
                                 std::map<std::string, std::vector<std::string>> fixed, std::string url)
    : executor_(std::move(executor)), fixed_(std::move(fixed)), url_(std::move(url)) {}

bool StaticDiscovery::lists(const std::string& name, const std::string& address) const {
  auto it = fixed_.find(name);
  return it != fixed_.end() && std::find(it->second.begin(), it->second.end(), address) != it->second.end();
}

asio::awaitable<Result<std::string>> StaticDiscovery::query(std::string name) {
  auto it = fixed_.find(name);
  if (it == fixed_.end() || it->second.empty()) {
    co_return Result<std::string>::failure(Status::not_found, "no instance of '" + name + "' in " + url_);
  }
  thread_local std::mt19937 rng{std::random_device{}()};
  co_return Result<std::string>{Status::ok, {}, it->second[rng() % it->second.size()]};
}

asio::awaitable<Result<AddressSet>> StaticDiscovery::list(std::string name) {
  auto it = fixed_.find(name);
  AddressSet set{it == fixed_.end() ? std::vector<std::string>{} : it->second, 1};
  co_return Result<AddressSet>{Status::ok, {}, std::move(set)};
}

asio::awaitable<Result<std::chrono::milliseconds>> StaticDiscovery::announce(
    std::string name, std::string address, std::chrono::milliseconds ttl) {
  if (!lists(name, address)) {
    co_return Result<std::chrono::milliseconds>::failure(
        Status::invalid_argument, "static discovery cannot register " + address + " under '" + name +
                                      "': only the addresses in its URL exist");
  }
  co_return Result<std::chrono::milliseconds>{Status::ok, {}, ttl};
}

asio::awaitable<Result<bool>> StaticDiscovery::withdraw(std::string name, std::string address) {
  co_return Result<bool>{Status::ok, {}, lists(name, address)};
}

std::unique_ptr<WatchHandle> StaticDiscovery::watch(std::string name, WatchCallback on_change) {
  struct Once : WatchHandle {
    std::shared_ptr<std::atomic<bool>> stopped = std::make_shared<std::atomic<bool>>(false);
    void stop() override { *stopped = true; }
  };
  auto handle = std::make_unique<Once>();
  auto it = fixed_.find(name);
  AddressSet set{it == fixed_.end() ? std::vector<std::string>{} : it->second, 1};
  asio::post(executor_, [stopped = handle->stopped, set = std::move(set), on_change = std::move(on_change)] {
    if (!*stopped) on_change(set);
  });
  return handle;
}

}  // namespace routing::discovery
