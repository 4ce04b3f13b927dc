// SIGHUP for discoveryd and echod (CONTRACT section 10): the settings are read
// again; what may change while running applies, the rest is reported and
// kept; a bad file changes nothing, logged and counted. routerd's reload is
// tested in routerd_test.cpp.
#include "rpc/blocking_client.h"
#include "support/admin_http.h"
#include "support/eventually.h"
#include "support/ports.h"
#include "support/process.h"

#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

std::string register_args(const std::string& name) {
  // A long lease: none may end during the test (a slow sanitizer run).
  return R"({"name":")" + name + R"(","address":"127.0.0.1:9","ttl_ms":600000})";
}

TEST(Reload, DiscoverydAppliesNewLimitsAndKeepsWhatNeedsARestart) {
  auto config = temp_file("max-names = 100\n");
  Process discoveryd(DISCOVERYD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--config", config});
  auto port = discoveryd.wait_listening();
  ASSERT_TRUE(port) << discoveryd.log();
  auto admin = admin_port_in(discoveryd.log()).value_or(0);
  auto samples = [&] { return metric_samples(admin_get(admin, "/metrics")); };
  rpc::BlockingClient client("127.0.0.1:" + std::to_string(*port), 5s);
  ASSERT_TRUE(client.call(1, register_args("a")).ok());
  ASSERT_TRUE(client.call(1, register_args("b")).ok());

  std::ofstream(config) << "max-names = 2\nthreads = 2\n";
  discoveryd.signal(SIGHUP);
  ASSERT_TRUE(discoveryd.wait_for_log("applied max-names; changed but kept until a restart: threads"))
      << discoveryd.log();
  Reply refused = client.call(1, register_args("c"));
  EXPECT_EQ(refused.status, Status::resource_exhausted) << refused.payload;
  EXPECT_TRUE(client.call(1, register_args("a")).ok()) << "a refresh is never refused";
  EXPECT_EQ(samples()["discoveryd_config_reloads_total"], 1);
  auto settings = admin_get(admin, "/config");
  EXPECT_NE(settings.find("\nmax-names = 2\n"), std::string::npos) << settings;
  EXPECT_NE(settings.find("\nthreads = 1\n"), std::string::npos) << settings;  // in force until a restart

  // A typo: nothing changes, the failure is logged and counted.
  std::ofstream(config) << "max_names = 100\n";
  discoveryd.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return samples()["discoveryd_config_reload_failures_total"] == 1; }, 5s));
  EXPECT_TRUE(discoveryd.wait_for_log("reload \\(SIGHUP\\) failed, nothing changed: .*unknown setting 'max_names'"))
      << discoveryd.log();
  EXPECT_EQ(client.call(1, register_args("c")).status, Status::resource_exhausted);

  std::ofstream(config) << "max-names = 3\n";
  discoveryd.signal(SIGHUP);
  ASSERT_TRUE(eventually([&] { return samples()["discoveryd_config_reloads_total"] == 2; }, 5s));
  EXPECT_TRUE(client.call(1, register_args("c")).ok());
  std::filesystem::remove(config);
}

// echod: the log level changes (here to warn: SIGTERM's info lines vanish);
// its other settings need a restart and are reported.
TEST(Reload, EchodAppliesTheLogLevelAndReportsTheRest) {
  auto config = temp_file("ttl-ms = 10000\n");
  Process echod(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--config", config});
  auto port = echod.wait_listening();
  ASSERT_TRUE(port) << echod.log();
  std::ofstream(config) << "ttl-ms = 10000\nbogus = 1\n";
  echod.signal(SIGHUP);
  ASSERT_TRUE(echod.wait_for_log("reload \\(SIGHUP\\) failed, nothing changed: .*unknown setting 'bogus'"))
      << echod.log();

  std::ofstream(config) << "ttl-ms = 5000\nlog-level = \"warn\"\n";
  echod.signal(SIGHUP);
  ASSERT_TRUE(echod.wait_for_log("applied log-level; changed but kept until a restart: ttl-ms")) << echod.log();
  rpc::BlockingClient client("127.0.0.1:" + std::to_string(*port), 5s);
  EXPECT_EQ(client.call(1, "still serving").payload, "still serving");
  echod.signal(SIGTERM);
  EXPECT_EQ(echod.wait_exit(5s), 0);
  EXPECT_EQ(echod.log().find("draining"), std::string::npos) << echod.log();  // an info line
  std::filesystem::remove(config);
}

// Turned back up, the new level applies before the reload's own line, so
// the operator sees it (logged under the old level, warn, it would vanish).
TEST(Reload, TurningTheLogLevelUpShowsTheReloadLine) {
  auto config = temp_file("log-level = \"warn\"\n");
  const std::string address = "127.0.0.1:" + std::to_string(free_port());
  Process echod(ECHOD_PATH, {"--listen", address, "--config", config});
  // Under warn nothing says "listening": wait for an answer (the signal
  // handlers are installed before the listener opens).
  ASSERT_TRUE(eventually([&] { return rpc::BlockingClient(address, 1s).call(0, "").ok(); }, 10s)) << echod.log();
  std::ofstream(config) << "log-level = \"info\"\n";
  echod.signal(SIGHUP);
  EXPECT_TRUE(echod.wait_for_log("reload \\(SIGHUP\\): applied log-level; changed but kept until a restart: none"))
      << echod.log();
  std::filesystem::remove(config);
}

}  // namespace
}  // namespace routing::test
