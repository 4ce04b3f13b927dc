// echod as a real process: flags, procedures, signals.
#include "support/process.h"
#include "support/raw_socket.h"

#include <gtest/gtest.h>

#include <csignal>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

TEST(Echod, ServesTheContractProcedures) {
  Process echod(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--name", "echo"});
  auto port = echod.wait_listening();
  ASSERT_TRUE(port) << echod.log();
  RawSocket s(*port);
  s.send("1:hello\n2:10:later\n3:\n0:\n2:bad\n");
  EXPECT_EQ(s.read_line(), "0:hello");
  EXPECT_EQ(s.read_line(), "0:later");
  EXPECT_EQ(s.read_line(), "0:127.0.0.1:" + std::to_string(*port));
  EXPECT_EQ(s.read_line(), "0:pong");
  auto bad = s.read_line();
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->substr(0, 2), "3:");
}

TEST(Echod, SigtermLetsCallsInFlightFinish) {
  Process echod(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--threads", "2"});
  auto port = echod.wait_listening();
  ASSERT_TRUE(port) << echod.log();
  std::vector<RawSocket> callers;
  for (int i = 0; i < 8; ++i) {
    callers.emplace_back(*port);
    callers.back().send("2:500:finished " + std::to_string(i) + "\n");
  }
  std::this_thread::sleep_for(100ms);
  echod.signal(SIGTERM);
  for (int i = 0; i < 8; ++i) {
    EXPECT_EQ(callers[i].read_line(), "0:finished " + std::to_string(i));
  }
  EXPECT_EQ(echod.wait_exit(5s), 0) << echod.log();
  EXPECT_NE(echod.log().find("draining"), std::string::npos);
}

// --capacity 1: one call worked on at a time, the others wait in arrival
// order. Bounds are lower bounds only (a slow machine makes answers later,
// never earlier); without the capacity all three would end after ~300 ms.
TEST(Echod, CapacityQueuesCallsInArrivalOrder) {
  Process echod(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--capacity", "1", "--threads", "2"});
  auto port = echod.wait_listening();
  ASSERT_TRUE(port) << echod.log();
  std::vector<RawSocket> callers;
  for (int i = 0; i < 3; ++i) callers.emplace_back(*port);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; ++i) {
    callers[i].send("2:300:call " + std::to_string(i) + "\n");
    std::this_thread::sleep_for(30ms);  // so that they arrive in this order
  }
  for (int i = 0; i < 3; ++i) {
    EXPECT_EQ(callers[i].read_line(), "0:call " + std::to_string(i));
    EXPECT_GE(std::chrono::steady_clock::now() - start, (i + 1) * 300ms) << "call " << i;
  }
  // ECHO takes a slot too.
  callers[0].send("2:300:slow\n");
  std::this_thread::sleep_for(30ms);
  const auto echo_sent = std::chrono::steady_clock::now();
  callers[1].send("1:quick\n");
  EXPECT_EQ(callers[1].read_line(), "0:quick");
  EXPECT_GE(std::chrono::steady_clock::now() - echo_sent, 200ms);
  EXPECT_EQ(callers[0].read_line(), "0:slow");
}

TEST(Echod, SigintStopsAnIdleServerCleanly) {
  Process echod(ECHOD_PATH, {"--listen", "127.0.0.1:0"});
  ASSERT_TRUE(echod.wait_listening());
  echod.signal(SIGINT);
  EXPECT_EQ(echod.wait_exit(5s), 0);
}

TEST(Echod, RejectsBadFlagsWithOneLine) {
  for (std::vector<std::string> args : std::vector<std::vector<std::string>>{
           {"--listen", "nowhere"}, {"--threads", "-1"}, {"--bogus"},
           {"--max-frame-bytes", "abc"}, {"--idle-timeout-ms", "-5"}, {"--weight", "0"}, {"--weight", "1001"},
           {"--weight", "x"}, {"--weight", "-3"}, {"--zone", std::string(65, 'z')}, {"--zone", "a b"},
           {"--capacity", "-1"}, {"--capacity", "many"}, {"--capacity", "1000001"}}) {
    auto result = run_program(ECHOD_PATH, args);
    EXPECT_EQ(result.exit_code, 2) << args[0];
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
}

// --zone and --weight from a config file obey the flags' rules.
TEST(Echod, ChecksZoneAndWeightInItsConfigFile) {
  auto good = run_program(ECHOD_PATH, {"--config", temp_file("zone = \"us-east-1a\"\nweight = 30\n", ".toml"),
                                       "--check-config"});
  EXPECT_EQ(good.exit_code, 0) << good.err;
  for (const std::string& bad : std::vector<std::string>{"weight = 0\n", "weight = 1001\n", "zone = \"a b\"\n",
                                                       "zone = \"" + std::string(65, 'z') + "\"\n"}) {
    auto result = run_program(ECHOD_PATH, {"--config", temp_file(bad, ".toml"), "--check-config"});
    EXPECT_EQ(result.exit_code, 2) << bad << result.out;
    EXPECT_EQ(std::count(result.err.begin(), result.err.end(), '\n'), 1) << result.err;
  }
}

TEST(Echod, ExitsNonZeroWhenThePortIsTaken) {
  Process first(ECHOD_PATH, {"--listen", "127.0.0.1:0"});
  auto port = first.wait_listening();
  ASSERT_TRUE(port);
  auto second = run_program(ECHOD_PATH, {"--listen", "127.0.0.1:" + std::to_string(*port)});
  EXPECT_EQ(second.exit_code, 1);
  EXPECT_NE(second.err.find("cannot listen"), std::string::npos) << second.err;
}

TEST(Echod, AnswersHelpAndVersion) {
  auto help = run_program(ECHOD_PATH, {"--help"});
  EXPECT_EQ(help.exit_code, 0);
  EXPECT_NE(help.out.find("--max-frame-bytes"), std::string::npos);
  EXPECT_NE(help.out.find("--zone"), std::string::npos);
  EXPECT_NE(help.out.find("--weight"), std::string::npos);
  auto version = run_program(ECHOD_PATH, {"--version"});
  EXPECT_EQ(version.exit_code, 0);
  EXPECT_EQ(version.out.rfind("echod ", 0), 0u) << version.out;
}

}  // namespace
}  // namespace routing::test
