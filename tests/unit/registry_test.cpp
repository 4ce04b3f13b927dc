#include "discovery/registry.h"

#include "discovery/protocol_json.h"
#include "rpc/codec.h"

#include <gtest/gtest.h>

namespace routing::discovery {
namespace {

using namespace std::chrono_literals;

class RegistryTest : public ::testing::Test {
 protected:
  Clock::time_point now = Clock::time_point() + 1000h;  // a fake clock
  Registry registry;
};

TEST_F(RegistryTest, RegistersAndLists) {
  EXPECT_TRUE(registry.register_instance("echo", "127.0.0.1:7002", 10s, now));
  EXPECT_TRUE(registry.register_instance("echo", "127.0.0.1:7001", 10s, now));
  auto set = registry.list("echo");
  EXPECT_EQ(set.addresses, (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}));
  EXPECT_EQ(set.index, 2u);
}

TEST_F(RegistryTest, ReRegisteringOnlyRefreshesTheLease) {
  registry.register_instance("echo", "a:1", 1s, now);
  auto before = registry.list("echo");
  EXPECT_FALSE(registry.register_instance("echo", "a:1", 1s, now + 900ms));
  EXPECT_EQ(registry.list("echo"), before);  // no duplicate, same index
  EXPECT_TRUE(registry.expire(now + 1500ms).empty());  // the refresh moved the end
  EXPECT_EQ(registry.expire(now + 1900ms), std::vector<std::string>{"echo"});
  EXPECT_TRUE(registry.list("echo").addresses.empty());
}

TEST_F(RegistryTest, ExpiresExactlyAtTheEndOfTheLease) {
  registry.register_instance("echo", "a:1", 100ms, now);
  registry.register_instance("echo", "b:1", 200ms, now);
  EXPECT_TRUE(registry.expire(now + 99ms).empty());
  EXPECT_EQ(registry.expire(now + 100ms), std::vector<std::string>{"echo"});
  EXPECT_EQ(registry.list("echo").addresses, std::vector<std::string>{"b:1"});
  EXPECT_EQ(registry.next_expiry(), now + 200ms);
  registry.expire(now + 200ms);
  EXPECT_EQ(registry.size(), 0u);
  EXPECT_FALSE(registry.next_expiry());
}

TEST_F(RegistryTest, IndexGrowsOnEveryChangeOfTheNameOnly) {
  registry.register_instance("echo", "a:1", 1s, now);
  auto first = registry.list("echo").index;
  registry.register_instance("kv", "k:1", 1s, now);
  EXPECT_EQ(registry.list("echo").index, first);  // another name changed
  registry.register_instance("echo", "b:1", 1s, now);
  auto second = registry.list("echo").index;
  EXPECT_GT(second, first);
  EXPECT_TRUE(registry.deregister("echo", "b:1"));
  EXPECT_GT(registry.list("echo").index, second);
  EXPECT_FALSE(registry.deregister("echo", "b:1"));
  EXPECT_FALSE(registry.deregister("nope", "b:1"));
}

TEST_F(RegistryTest, IndexNeverGoesBackWhenANameEmpties) {
  registry.register_instance("echo", "a:1", 1s, now);
  registry.deregister("echo", "a:1");
  auto emptied = registry.list("echo").index;
  registry.register_instance("kv", "k:1", 1s, now);
  EXPECT_GE(registry.list("echo").index, emptied);
  EXPECT_EQ(registry.list("never-seen").index, registry.index());
}

// What the multi-name LIST compares: a name's change index moves when its set
// changes and at no other time, even without instances.
TEST_F(RegistryTest, ChangeIndexMovesOnlyWithTheNamesOwnChanges) {
  EXPECT_EQ(registry.change_index("never-seen"), 0u);
  registry.register_instance("echo", "a:1", 1s, now);
  EXPECT_EQ(registry.change_index("echo"), registry.list("echo").index);
  registry.deregister("echo", "a:1");
  const auto emptied = registry.change_index("echo");
  EXPECT_EQ(emptied, registry.index());
  registry.register_instance("kv", "k:1", 1s, now);
  EXPECT_EQ(registry.change_index("echo"), emptied) << "another name's change moved it";
  EXPECT_EQ(registry.watched("echo"), (AddressSet{{}, emptied, {}}));
  EXPECT_EQ(registry.change_index("never-seen"), 0u);
  registry.register_instance("echo", "b:1", 1s, now);
  EXPECT_GT(registry.change_index("echo"), emptied);
  const auto registered = registry.change_index("echo");
  registry.expire(now + 2s);  // both leases end: each name's index is the change that emptied it
  EXPECT_GT(registry.change_index("echo"), registered);
  EXPECT_NE(registry.change_index("echo"), registry.change_index("kv"));
  EXPECT_EQ(std::max(registry.change_index("echo"), registry.change_index("kv")), registry.index());
}

TEST_F(RegistryTest, ForgetsTheOldestEmptiedNamesButNeverGoesBack) {
  std::uint64_t first = 0;
  for (int i = 0; i < 10'050; ++i) {  // past the registry's memory of emptied names
    std::string name = "n" + std::to_string(i);
    registry.register_instance(name, "a:1", 1s, now);
    registry.deregister(name, "a:1");
    if (i == 0) first = registry.change_index(name);
  }
  EXPECT_GE(registry.change_index("n0"), first);
  EXPECT_GT(registry.change_index("never-seen"), 0u) << "names forgotten long ago report a later index";
  EXPECT_EQ(registry.change_index("n10049"), registry.index());
}

TEST_F(RegistryTest, PicksOnlyLiveInstances) {
  EXPECT_FALSE(registry.pick("echo", 0));
  registry.register_instance("echo", "a:1", 1s, now);
  registry.register_instance("echo", "b:1", 1s, now);
  std::set<std::string> seen;
  for (std::uint64_t r = 0; r < 10; ++r) seen.insert(*registry.pick("echo", r));
  EXPECT_EQ(seen, (std::set<std::string>{"a:1", "b:1"}));
}

// Bounds (discovery/limits.h): what refusal() counts must follow every way an
// instance goes (deregistration, expiry), or a client would be refused for
// instances long gone.
TEST_F(RegistryTest, AnOwnersRegistrationsAreCountedUntilTheyGo) {
  DiscoveryLimits limits{.max_registrations_per_connection = 2};
  registry.register_instance("echo", "a:1", 1s, now, 7);
  registry.register_instance("echo", "b:1", 2s, now, 7);
  EXPECT_TRUE(registry.refusal("echo", "c:1", 7, limits));
  EXPECT_FALSE(registry.refusal("echo", "a:1", 7, limits)) << "a refresh is never refused";
  EXPECT_FALSE(registry.refusal("echo", "c:1", 8, limits)) << "another owner";
  registry.expire(now + 1s);  // a:1 goes
  EXPECT_FALSE(registry.refusal("echo", "c:1", 7, limits));
  registry.register_instance("echo", "c:1", 1s, now + 1s, 7);
  EXPECT_TRUE(registry.refusal("echo", "d:1", 7, limits));
  registry.deregister("echo", "b:1");
  EXPECT_FALSE(registry.refusal("echo", "d:1", 7, limits));
}

TEST_F(RegistryTest, TheListSizeFollowsTheAddresses) {
  const std::size_t empty = registry.list_bytes("echo");
  registry.register_instance("echo", "a:1", 1s, now);
  registry.register_instance("echo", "b\\\"c:1", 1s, now);  // escaped twice on the wire
  EXPECT_EQ(registry.list_bytes("echo"), empty + list_entry_bytes("a:1", {}) + list_entry_bytes("b\\\"c:1", {}));
  std::string line = rpc::encode_frame(0, address_set_json(registry.list("echo")));
  EXPECT_LE(line.size() - 1, registry.list_bytes("echo"));
  registry.deregister("echo", "a:1");
  registry.expire(now + 1s);
  EXPECT_EQ(registry.list_bytes("echo"), empty);
}

TEST_F(RegistryTest, RefusesNewNamesAndInstancesPastTheirBounds) {
  DiscoveryLimits limits{.max_names = 1, .max_instances_per_name = 1};
  registry.register_instance("echo", "a:1", 1s, now);
  EXPECT_NE(registry.refusal("kv", "k:1", 0, limits).value_or(""), "");
  EXPECT_NE(registry.refusal("echo", "b:1", 0, limits).value_or(""), "");
  EXPECT_FALSE(registry.refusal("echo", "a:1", 0, limits));
  limits.max_list_bytes = registry.list_bytes("echo") + list_entry_bytes("b:1", {}) - 1;
  limits.max_names = limits.max_instances_per_name = 10;
  EXPECT_NE(registry.refusal("echo", "b:1", 0, limits).value_or("").find("LIST answer"), std::string::npos);
}

// CONTRACT §11: each instance keeps the zone, weight and meta it registered
// with, and a refresh that brings others is a change of the set.
TEST_F(RegistryTest, ListsEachInstancesPlacement) {
  const Placement zoned{"us-east-1a", 50, {{"version", "1.2"}}};
  registry.register_instance("echo", "a:1", 1s, now, 0, zoned);
  registry.register_instance("echo", "b:1", 1s, now);
  auto set = registry.list("echo");
  EXPECT_EQ(set.placements, (std::map<std::string, Placement>{{"a:1", zoned}})) << "defaults are not stored";
  EXPECT_EQ(registry.watched("echo").placements, set.placements);
}

TEST_F(RegistryTest, ARefreshWithAnotherPlacementIsAChange) {
  const Placement first{"a", 100, {}};
  const Placement second{"a", 20, {{"k", "v"}}};
  EXPECT_TRUE(registry.register_instance("echo", "a:1", 1s, now, 0, first));
  const auto before = registry.list("echo").index;
  EXPECT_TRUE(registry.register_instance("echo", "a:1", 1s, now, 0, second));
  EXPECT_GT(registry.list("echo").index, before);
  EXPECT_EQ(registry.list("echo").placement_of("a:1"), second);
  const auto after = registry.list("echo").index;
  EXPECT_FALSE(registry.register_instance("echo", "a:1", 1s, now + 500ms, 0, second)) << "the same placement";
  EXPECT_EQ(registry.list("echo").index, after);
  EXPECT_TRUE(registry.register_instance("echo", "a:1", 1s, now + 600ms)) << "back to the default";
  EXPECT_TRUE(registry.list("echo").placements.empty());
  EXPECT_TRUE(registry.expire(now + 1500ms).empty()) << "every refresh moved the lease's end";
  EXPECT_EQ(registry.size(), 1u);
}

TEST_F(RegistryTest, TheListSizeFollowsPlacements) {
  const std::size_t empty = registry.list_bytes("echo");
  const Placement small{"z", 5, {}};
  const Placement large{"z-1", 5, {{"key\n", std::string(300, '"')}, {"k", std::string("\x01\n\\", 3)}}};
  registry.register_instance("echo", "a:1", 1s, now, 0, small);
  EXPECT_EQ(registry.list_bytes("echo"), empty + list_entry_bytes("a:1", small));
  registry.register_instance("echo", "a:1", 1s, now, 0, large);  // a refresh with another placement
  registry.register_instance("echo", "b:1", 1s, now);
  EXPECT_EQ(registry.list_bytes("echo"), empty + list_entry_bytes("a:1", large) + list_entry_bytes("b:1", {}));
  std::string line = rpc::encode_frame(0, address_set_json(registry.list("echo")));
  EXPECT_LE(line.size() - 1, registry.list_bytes("echo"));
  EXPECT_GT(line.size() - 1, 600u) << "the placement is on the line";
  registry.deregister("echo", "a:1");
  EXPECT_EQ(registry.list_bytes("echo"), empty + list_entry_bytes("b:1", {}));
  registry.expire(now + 1s);
  EXPECT_EQ(registry.list_bytes("echo"), empty);
}

TEST_F(RegistryTest, ARefreshMayNotGrowTheListPastItsBound) {
  const Placement large{"", 100, {{"k", std::string(1000, 'v')}}};
  registry.register_instance("echo", "a:1", 1s, now);
  DiscoveryLimits limits;
  limits.max_list_bytes = registry.list_bytes("echo") + 100;
  EXPECT_FALSE(registry.refusal("echo", "a:1", 0, limits)) << "the same placement";
  EXPECT_NE(registry.refusal("echo", "a:1", 0, limits, large).value_or("").find("LIST answer"), std::string::npos);
  EXPECT_NE(registry.refusal("echo", "b:1", 0, limits, large).value_or("").find("LIST answer"), std::string::npos);
  EXPECT_FALSE(registry.refusal("echo", "a:1", 0, limits, Placement{"z", 7, {}})) << "fits";
  // Past a bound lowered since, a refresh that does not grow the answer still may.
  registry.register_instance("echo", "a:1", 1s, now, 0, large);
  limits.max_list_bytes = list_frame_overhead;
  EXPECT_FALSE(registry.refusal("echo", "a:1", 0, limits, large));
  EXPECT_FALSE(registry.refusal("echo", "a:1", 0, limits, Placement{}));
}

}  // namespace
}  // namespace routing::discovery
