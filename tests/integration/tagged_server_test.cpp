// CONTRACT §8 on the server side, driven by raw sockets: tagged calls run
// concurrently on one connection and are answered as each finishes;
// duplicate ids, cancel, deadline-ms before and during work, the limit of
// calls per connection, untagged order kept when both forms are mixed.
#include "rpc/codec.h"
#include "support/eventually.h"
#include "support/raw_socket.h"
#include "support/test_server.h"

#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <gtest/gtest.h>

#include <atomic>
#include <set>

namespace routing::test {
namespace {

class TaggedServerTest : public ::testing::Test {
 protected:
  void SetUp() override { start({}); }
  void start(rpc::ServerOptions options) {
    if (server_) {
      server_->stop();
      server_->wait();
    }
    options.threads = 1;
    server_ = std::make_unique<rpc::Server>(options);
    echo::register_echo_service(*server_);
    register_give_up_counter(*server_, given_up_);
    server_->start();
  }
  void TearDown() override {
    server_->stop();
    server_->wait();
  }
  RawSocket connect() { return RawSocket(server_->local_endpoint().port()); }

  std::unique_ptr<rpc::Server> server_;
  std::atomic<int> given_up_{0};
};

TEST_F(TaggedServerTest, AnswersEachCallAsItFinishes) {
  auto s = connect();
  s.send("2#1:300:slow\n1#2:fast\n3#3:\n");
  EXPECT_EQ(s.read_line(), "0#2:fast");
  auto whoami = s.read_line();
  ASSERT_TRUE(whoami);
  EXPECT_EQ(whoami->rfind("0#3:127.0.0.1:", 0), 0u) << *whoami;
  EXPECT_EQ(s.read_line(), "0#1:slow");
}

// Twenty calls started at once whose waits shrink: on one connection they
// can only come back reversed if they ran at the same time.
TEST_F(TaggedServerTest, RunsManyCallsOfOneConnectionConcurrently) {
  auto s = connect();
  std::string batch;
  for (int id = 1; id <= 20; ++id) {
    batch += rpc::encode_tagged_frame(2, id, std::to_string((21 - id) * 30) + ":call " + std::to_string(id));
  }
  s.send(batch);
  for (int id = 20; id >= 1; --id) {
    ASSERT_EQ(s.read_line(), "0#" + std::to_string(id) + ":call " + std::to_string(id));
  }
}

TEST_F(TaggedServerTest, RefusesADuplicateIdWithoutDisturbingTheFirstCall) {
  auto s = connect();
  s.send("2#5:200:first\n1#5:second\n");
  EXPECT_EQ(s.read_line(), "3#5:duplicate call id");
  EXPECT_EQ(s.read_line(), "0#5:first");
  s.send("1#5:reused once answered\n");
  EXPECT_EQ(s.read_line(), "0#5:reused once answered");
}

TEST_F(TaggedServerTest, CancelAnswersTheCallAndTellsItsHandler) {
  auto s = connect();
  s.send("50#7:\n0#8;cancel=7:\n");
  EXPECT_EQ(s.read_line(), "1#7:cancelled");
  EXPECT_EQ(s.read_line(), "0#8:pong");
  EXPECT_TRUE(eventually([&] { return given_up_.load() == 1; }));
  // The id is free again, and the handler's late answer went nowhere.
  s.send("1#7:again\n0#9:\n");
  EXPECT_EQ(s.read_line(), "0#7:again");
  EXPECT_EQ(s.read_line(), "0#9:pong");
}

TEST_F(TaggedServerTest, CancelOfAnUnknownOrAnsweredIdOnlyPongs) {
  auto s = connect();
  s.send("1#1:x\n0#2;cancel=1:\n0#3;cancel=99:\n");
  EXPECT_EQ(s.read_line(), "0#1:x");
  EXPECT_EQ(s.read_line(), "0#2:pong");
  EXPECT_EQ(s.read_line(), "0#3:pong");
}

TEST_F(TaggedServerTest, ADeadlineAlreadyOverStartsNoWork) {
  auto s = connect();
  s.send("50#3;deadline-ms=0:\n0#4:\n");
  EXPECT_EQ(s.read_line(), "4#3:deadline exceeded");
  EXPECT_EQ(s.read_line(), "0#4:pong");
  EXPECT_EQ(given_up_.load(), 0);  // the handler never ran
}

// The handler would wait 10 s: the deadline answers first, and the handler
// learns that its call is no longer wanted.
TEST_F(TaggedServerTest, ADeadlinePassingDuringWorkAnswers4AndGivesTheCallUp) {
  auto s = connect();
  s.send("50#4;deadline-ms=300:\n50#5;deadline-ms=100:\n");
  EXPECT_EQ(s.read_line(), "4#5:deadline exceeded");  // the earlier deadline re-arms the timer
  EXPECT_EQ(s.read_line(), "4#4:deadline exceeded");
  EXPECT_TRUE(eventually([&] { return given_up_.load() == 2; }));
}

TEST_F(TaggedServerTest, EchodStopsASlowEchoPastItsDeadline) {
  auto s = connect();
  s.send("2#1;deadline-ms=100:5000:late\n");
  EXPECT_EQ(s.read_line(), "4#1:deadline exceeded");
  s.send("0#2:\n");
  EXPECT_EQ(s.read_line(), "0#2:pong");
}

TEST_F(TaggedServerTest, UntaggedCallsKeepTheirOrderAmongTaggedOnes) {
  auto s = connect();
  s.send("2#1:300:tagged slow\n1:u1\n2:50:u2\n1:u3\n1#2:tagged fast\n");
  EXPECT_EQ(s.read_line(), "0:u1");
  EXPECT_EQ(s.read_line(), "0:u2");
  EXPECT_EQ(s.read_line(), "0:u3");
  EXPECT_EQ(s.read_line(), "0#2:tagged fast");
  EXPECT_EQ(s.read_line(), "0#1:tagged slow");
}

TEST_F(TaggedServerTest, MalformedTagsGetAnUntagged3AndTheConnectionStaysUsable) {
  auto s = connect();
  for (const char* bad : {"1#0:x", "1#:x", "1#18446744073709551616:x", "1#2;Bad=1:x", "1#2;k=:x", "1#2;k:x"}) {
    s.send(std::string(bad) + "\n");
    auto answer = s.read_line();
    ASSERT_TRUE(answer) << bad;
    EXPECT_EQ(answer->rfind("3:malformed frame", 0), 0u) << bad << " -> " << *answer;
  }
  s.send("1#18446744073709551615;x-unknown=ok:still here\n");
  EXPECT_EQ(s.read_line(), "0#18446744073709551615:still here");
}

TEST_F(TaggedServerTest, UnknownProceduresAndHandlerFailuresAnswerTagged) {
  auto s = connect();
  s.send("99#1:x\n2#2:nonsense\n");
  EXPECT_EQ(s.read_line(), "12#1:unknown procedure 99");
  auto malformed = s.read_line();
  ASSERT_TRUE(malformed);
  EXPECT_EQ(malformed->rfind("3#2:SLOW_ECHO expects", 0), 0u) << *malformed;
}

TEST_F(TaggedServerTest, CallsPastTheConnectionsLimitGet8) {
  rpc::ServerOptions options;
  options.max_calls_per_connection = 2;
  start(options);
  auto s = connect();
  s.send("50#1:\n50#2:\n50#3:\n");
  EXPECT_EQ(s.read_line(), "8#3:too many calls in flight on this connection (limit 2)");
  // A cancelled call holds its place until its handler has let go of it.
  s.send("0#4;cancel=1:\n");
  EXPECT_EQ(s.read_line(), "1#1:cancelled");
  EXPECT_EQ(s.read_line(), "0#4:pong");
  ASSERT_TRUE(eventually([&] { return given_up_.load() == 1; }));
  s.send("1#5:room again\n");
  EXPECT_EQ(s.read_line(), "0#5:room again");
  auto other = connect();  // the limit is per connection
  other.send("1#1:other\n");
  EXPECT_EQ(other.read_line(), "0#1:other");
}

TEST_F(TaggedServerTest, AClientThatHangsUpAbandonsItsCalls) {
  {
    auto s = connect();
    s.send("50#1:\n50#2:\n0#3:\n");
    ASSERT_EQ(s.read_line(), "0#3:pong");
  }
  EXPECT_TRUE(eventually([&] { return given_up_.load() == 2; }));
}

TEST_F(TaggedServerTest, AGracefulStopWritesTheAnswersOfCallsInFlight) {
  auto s = connect();
  s.send("2#1:200:one\n2#2:100:two\n0#3:\n");
  ASSERT_EQ(s.read_line(), "0#3:pong");
  server_->stop();
  EXPECT_EQ(s.read_line(), "0#2:two");
  EXPECT_EQ(s.read_line(), "0#1:one");
  EXPECT_TRUE(s.wait_closed());
}

}  // namespace
}  // namespace routing::test
