#include "discovery/static_discovery.h"

#include <boost/asio/post.hpp>

#include <algorithm>
#include <random>

namespace routing::discovery {
namespace asio = boost::asio;

StaticDiscovery::StaticDiscovery(asio::any_io_executor executor, std::map<std::string, AddressSet> fixed,
                                 std::string url)
    : executor_(std::move(executor)), fixed_(std::move(fixed)), url_(std::move(url)) {
  for (auto& [name, set] : fixed_) set.index = 1;
}

bool StaticDiscovery::lists(const std::string& name, const std::string& address) const {
  auto it = fixed_.find(name);
  if (it == fixed_.end()) return false;
  const auto& addresses = it->second.addresses;
  return std::find(addresses.begin(), addresses.end(), address) != addresses.end();
}

// The fixed set of `name`; a name the map does not list has no addresses.
AddressSet StaticDiscovery::set_of(const std::string& name) const {
  auto it = fixed_.find(name);
  return it == fixed_.end() ? AddressSet{{}, 1, {}} : it->second;
}

asio::awaitable<Result<std::string>> StaticDiscovery::query(std::string name) {
  auto it = fixed_.find(name);
  if (it == fixed_.end() || it->second.addresses.empty()) {
    co_return Result<std::string>::failure(Status::not_found, "no instance of '" + name + "' in " + url_);
  }
  const auto& addresses = it->second.addresses;
  thread_local std::mt19937 rng{std::random_device{}()};
  co_return Result<std::string>{Status::ok, {}, addresses[rng() % addresses.size()]};
}

asio::awaitable<Result<AddressSet>> StaticDiscovery::list(std::string name) {
  co_return Result<AddressSet>{Status::ok, {}, set_of(name)};
}

asio::awaitable<Result<std::chrono::milliseconds>> StaticDiscovery::announce(
    std::string name, std::string address, std::chrono::milliseconds ttl, Placement) {
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
  asio::post(executor_, [stopped = handle->stopped, set = set_of(name), on_change = std::move(on_change)] {
    if (!*stopped) on_change(set);
  });
  return handle;
}

}  // namespace routing::discovery
