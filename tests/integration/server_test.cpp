// The line-protocol server over loopback, driven by raw sockets.
#include "rpc/codec.h"
#include "support/raw_socket.h"
#include "support/test_server.h"

#include <gtest/gtest.h>

#include <thread>

namespace routing::test {
namespace {

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    rpc::ServerOptions options;
    options.threads = 2;
    options.max_frame_bytes = 1024;
    server_ = start_test_server(options);
  }
  RawSocket connect() { return RawSocket(server_->local_endpoint().port()); }
  std::unique_ptr<rpc::Server> server_;
};

TEST_F(ServerTest, AnswersPingAndEcho) {
  auto s = connect();
  s.send("0:\n1:hello\n");
  EXPECT_EQ(s.read_line(), "0:pong");
  EXPECT_EQ(s.read_line(), "0:hello");
}

TEST_F(ServerTest, AnswersAThousandPipelinedRequestsInOrder) {
  auto s = connect();
  std::string batch;
  for (int i = 0; i < 1000; ++i) batch += rpc::encode_frame(1, "request " + std::to_string(i));
  s.send(batch);
  for (int i = 0; i < 1000; ++i) {
    ASSERT_EQ(s.read_line(), "0:request " + std::to_string(i));
  }
}

TEST_F(ServerTest, ReassemblesAFrameWrittenOneByteAtATime) {
  auto s = connect();
  for (char c : std::string("1:one\\nbyte\n")) s.send(std::string_view(&c, 1));
  EXPECT_EQ(s.read_line(), "0:one\\nbyte");
}

TEST_F(ServerTest, AcceptsCrLfLineEnds) {
  auto s = connect();
  s.send("1:telnet\r\n0:\r\n");
  EXPECT_EQ(s.read_line(), "0:telnet");
  EXPECT_EQ(s.read_line(), "0:pong");
}

TEST_F(ServerTest, AnswersEveryMalformedFormWithStatus3AndStaysUsable) {
  auto s = connect();
  for (const char* bad : {"no colon", "", ":x", "1a:x", "-1:x", "12345678901:x", "2147483648:x",
                          " 1:x", "\r"}) {
    s.send(std::string(bad) + "\n");
    auto answer = s.read_line();
    ASSERT_TRUE(answer) << bad;
    EXPECT_EQ(answer->substr(0, 2), "3:") << bad << " -> " << *answer;
    s.send("1:still here\n");
    EXPECT_EQ(s.read_line(), "0:still here") << bad;
  }
}

TEST_F(ServerTest, AnswersUnknownProcedureWith12) {
  auto s = connect();
  s.send("99:x\n2147483647:y\n");
  EXPECT_EQ(s.read_line(), "12:unknown procedure 99");
  EXPECT_EQ(s.read_line(), "12:unknown procedure 2147483647");
}

TEST_F(ServerTest, TurnsAThrowingHandlerIntoStatus13) {
  auto s = connect();
  s.send("40:x\n1:after\n");
  EXPECT_EQ(s.read_line(), "13:internal error");
  EXPECT_EQ(s.read_line(), "0:after");
}

TEST_F(ServerTest, CallbackHandlersAnswerLaterInOrder) {
  auto s = connect();
  s.send("42:a\n1:b\n42:c\n0:\n");
  EXPECT_EQ(s.read_line(), "0:later a");
  EXPECT_EQ(s.read_line(), "0:b");
  EXPECT_EQ(s.read_line(), "0:later c");
  EXPECT_EQ(s.read_line(), "0:pong");
}

TEST_F(ServerTest, ACallbackHandlerThatDropsOrThrowsStillGetsItsCallAnswered) {
  auto s = connect();
  s.send("43:x\n44:y\n1:after\n");
  EXPECT_EQ(s.read_line(), "13:internal error: the call was dropped without an answer");
  EXPECT_EQ(s.read_line(), "13:internal error: the call was dropped without an answer");  // it threw
  EXPECT_EQ(s.read_line(), "0:after");
}

// Calls answered at once (ping, unknown procedures, echo) and later ones
// alternate, then a frame over the limit arrives in several reads: the reader
// must have exactly one read going at a time (two would split the frame).
TEST_F(ServerTest, ReadsOnCorrectlyAfterAnswersGivenAtOnceOrLater) {
  for (const char* first : {"0:\n", "99:x\n", "1:x\n", "42:x\n", "43:x\n"}) {
    auto s = connect();
    s.send(first);
    ASSERT_TRUE(s.read_line()) << first;
    s.send("1:" + std::string(5000, 'x') + "\n");
    EXPECT_EQ(s.read_line(), "3:frame too long") << first;
    EXPECT_TRUE(s.wait_closed()) << first;
  }
}

TEST_F(ServerTest, PassesHandlerStatusesThrough) {
  auto s = connect();
  s.send("41:no\\nway\n");
  EXPECT_EQ(s.read_line(), "7:no\\nway");
}

TEST_F(ServerTest, AcceptsAFrameJustUnderTheLimit) {
  auto s = connect();
  std::string line = "1:" + std::string(1022, 'x');  // exactly 1024 bytes
  s.send(line + "\n");
  EXPECT_EQ(s.read_line(), "0:" + std::string(1022, 'x'));
  s.send(line + "\r\n");
  EXPECT_EQ(s.read_line(), "0:" + std::string(1022, 'x'));
}

TEST_F(ServerTest, RejectsAFrameOverTheLimitThenCloses) {
  auto s = connect();
  s.send("1:first\n1:" + std::string(1023, 'x') + "\n1:never answered\n");
  EXPECT_EQ(s.read_line(), "0:first");
  EXPECT_EQ(s.read_line(), "3:frame too long");
  EXPECT_TRUE(s.wait_closed());
}

TEST_F(ServerTest, RejectsAnEndlessLineWithoutWaitingForItsEnd) {
  auto s = connect();
  s.send("1:" + std::string(4000, 'x'));  // no newline, ever
  EXPECT_EQ(s.read_line(), "3:frame too long");
  EXPECT_TRUE(s.wait_closed());
}

TEST_F(ServerTest, KeepsAnswersInOrderWhenASlowCallComesFirst) {
  auto s = connect();
  s.send("2:200:slow\n1:fast\n");
  EXPECT_EQ(s.read_line(), "0:slow");
  EXPECT_EQ(s.read_line(), "0:fast");
}

TEST_F(ServerTest, AnswersEarlierCallsWithoutWaitingForALaterSlowOne) {
  auto s = connect();
  RawSocket quick(server_->local_endpoint().port(), std::chrono::milliseconds(1500));
  quick.send("1:first\n2:3000:slow\n");
  EXPECT_EQ(quick.read_line(), "0:first");  // not held back behind the 3 s call
}

TEST_F(ServerTest, ServesTwoHundredConcurrentClients) {
  std::vector<RawSocket> clients;
  for (int i = 0; i < 200; ++i) {
    clients.push_back(connect());
    ASSERT_TRUE(clients.back().connected());
  }
  for (int i = 0; i < 200; ++i) clients[i].send("2:50:client " + std::to_string(i) + "\n");
  for (int i = 0; i < 200; ++i) EXPECT_EQ(clients[i].read_line(), "0:client " + std::to_string(i));
  EXPECT_EQ(server_->stats().open_connections, 200u);
}

TEST_F(ServerTest, WhoAmIAnswersTheListeningAddress) {
  auto s = connect();
  s.send("3:\n");
  EXPECT_EQ(s.read_line(), "0:127.0.0.1:" + std::to_string(server_->local_endpoint().port()));
}

TEST_F(ServerTest, SlowEchoRejectsMalformedPayloads) {
  auto s = connect();
  for (const char* bad : {"", "abc", ":x", "-5:x", "1e3:x", "3600001:x", "99999999999:x"}) {
    s.send(rpc::encode_frame(2, bad));
    auto answer = s.read_line();
    ASSERT_TRUE(answer);
    EXPECT_EQ(answer->substr(0, 2), "3:") << bad;
  }
  s.send("2:0:\n");
  EXPECT_EQ(s.read_line(), "0:");
}

// The reader goes on reading during a call (to see a client leave): a
// half-close then must still get the call's answer where no one gives it up.
TEST_F(ServerTest, AnswersASlowCallAfterTheClientHalfCloses) {
  auto s = connect();
  s.send("2:200:late\n");
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  s.shutdown_write();
  EXPECT_EQ(s.read_line(), "0:late");
  EXPECT_TRUE(s.wait_closed());
}

TEST_F(ServerTest, ClosesAfterTheClientHalfCloses) {
  auto s = connect();
  s.send("1:bye\n");
  s.shutdown_write();
  EXPECT_EQ(s.read_line(), "0:bye");
  EXPECT_TRUE(s.wait_closed());
}

}  // namespace
}  // namespace routing::test
