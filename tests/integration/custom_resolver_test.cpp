// routing::Router with a user's own discovery (RouterOptions::resolver,
// include/routing/discovery.h): calls are routed to what the resolver says,
// and a changed address set is followed.
#include <routing/discovery.h>
#include <routing/router.h>

#include "support/eventually.h"
#include "support/test_backend.h"

#include <gtest/gtest.h>

#include <map>
#include <mutex>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

// A map that tests change; every change goes to the watchers from a thread
// of its own, as a real source's client would deliver it.
class MapResolver : public Resolver {
 public:
  void set(const std::string& name, std::vector<std::string> addresses) {
    std::vector<OnChange> watchers;
    {
      std::lock_guard lock(mutex_);
      map_[name] = addresses;
      for (auto& [id, watch] : watches_) {
        if (watch.first == name) watchers.push_back(watch.second);
      }
    }
    std::thread([watchers, addresses] {
      for (const auto& watcher : watchers) watcher(addresses);
    }).join();
  }
  int resolves() const {
    std::lock_guard lock(mutex_);
    return resolves_;
  }
  std::size_t watching() const {
    std::lock_guard lock(mutex_);
    return watches_.size();
  }

  void resolve(const std::string& name, Done done) override {
    Resolution answer;
    {
      std::lock_guard lock(mutex_);
      ++resolves_;
      auto it = map_.find(name);
      if (it != map_.end()) answer.addresses = it->second;
    }
    done(std::move(answer));  // before returning: allowed
  }

  std::unique_ptr<ResolverWatch> watch(const std::string& name, OnChange on_change) override {
    struct Watch : ResolverWatch {
      MapResolver* owner;
      int id;
      ~Watch() override {
        std::lock_guard lock(owner->mutex_);
        owner->watches_.erase(id);
      }
    };
    auto watch = std::make_unique<Watch>();
    std::lock_guard lock(mutex_);
    watch->owner = this;
    watch->id = ++next_id_;
    watches_[watch->id] = {name, std::move(on_change)};
    return watch;
  }

 private:
  mutable std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> map_;
  std::map<int, std::pair<std::string, OnChange>> watches_;
  int next_id_ = 0;
  int resolves_ = 0;
};

RouterOptions with_resolver(std::shared_ptr<Resolver> resolver) {
  RouterOptions options;
  options.discovery = "not a URL: ignored when a resolver is set";
  options.resolver = std::move(resolver);
  options.health_check_interval = 0ms;
  return options;
}

constexpr std::uint32_t whoami = 3;

TEST(CustomResolver, RoutesCallsToTheAddressesItGives) {
  TestBackend backend;
  auto resolver = std::make_shared<MapResolver>();
  resolver->set("echo", {backend.address()});
  Router router(with_resolver(resolver));
  Reply reply = router.call("echo", 1, "through my resolver");
  ASSERT_TRUE(reply.ok()) << reply.payload;
  EXPECT_EQ(reply.payload, "through my resolver");
  EXPECT_EQ(router.call("echo", whoami, "").payload, backend.address());
  EXPECT_EQ(resolver->resolves(), 1);
  EXPECT_EQ(resolver->watching(), 1u);
}

TEST(CustomResolver, FollowsAChangedAddressSet) {
  TestBackend a, b;
  auto resolver = std::make_shared<MapResolver>();
  resolver->set("echo", {a.address()});
  Router router(with_resolver(resolver));
  ASSERT_EQ(router.call("echo", whoami, "").payload, a.address());

  resolver->set("echo", {b.address()});
  EXPECT_TRUE(eventually([&] { return router.call("echo", whoami, "").payload == b.address(); }));
  for (int i = 0; i < 10; ++i) EXPECT_EQ(router.call("echo", whoami, "").payload, b.address());

  resolver->set("echo", {a.address(), b.address()});
  std::map<std::string, int> seen;
  EXPECT_TRUE(eventually([&] {
    ++seen[router.call("echo", whoami, "").payload];
    return seen.size() == 2;
  }));
}

TEST(CustomResolver, AnUnknownNameIsNotFoundAndAFailedResolveUnavailable) {
  struct Failing : Resolver {
    void resolve(const std::string&, Done done) override {
      done(Resolution{Status::unavailable, "my registry is down", {}});
    }
    std::unique_ptr<ResolverWatch> watch(const std::string&, OnChange) override {
      return std::make_unique<ResolverWatch>();
    }
  };
  Router empty(with_resolver(std::make_shared<MapResolver>()));
  EXPECT_EQ(empty.call("ghost", 1, "x").status, Status::not_found);

  Router failing(with_resolver(std::make_shared<Failing>()));
  Reply reply = failing.call("echo", 1, "x");
  EXPECT_EQ(reply.status, Status::unavailable);
  EXPECT_NE(reply.payload.find("my registry is down"), std::string::npos) << reply.payload;
}

TEST(CustomResolver, StopsItsWatchesWithTheRouter) {
  TestBackend backend;
  auto resolver = std::make_shared<MapResolver>();
  resolver->set("echo", {backend.address()});
  {
    Router router(with_resolver(resolver));
    ASSERT_TRUE(router.call("echo", 1, "x").ok());
    EXPECT_EQ(resolver->watching(), 1u);
  }
  EXPECT_EQ(resolver->watching(), 0u);
}

}  // namespace
}  // namespace routing::test
