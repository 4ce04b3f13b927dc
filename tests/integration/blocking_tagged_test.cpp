// rpc::BlockingConnection over tagged frames (CONTRACT §8), as Router::call
// uses it: probed at connect, shared by many threads at once (whichever
// waiting caller finds nobody reading reads for all), answers matched by
// id as each finishes, a call past its deadline given up alone and the
// server told, a broken connection failing every call on it.
#include "rpc/blocking_connection.h"
#include "support/test_backend.h"
#include "support/test_server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <atomic>
#include <thread>

namespace routing::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using rpc::BlockingConnection;

asio::ip::tcp::endpoint endpoint_of(const rpc::Server& server) {
  return {asio::ip::make_address("127.0.0.1"), server.local_endpoint().port()};
}

std::shared_ptr<BlockingConnection> connect_probed(const asio::ip::tcp::endpoint& endpoint) {
  std::string error;
  auto connection = BlockingConnection::connect(endpoint, 2s, rpc::default_max_frame_bytes, error, true);
  EXPECT_TRUE(connection) << error;
  return connection;
}

struct Outcome {
  bool answered = false;
  Reply reply;
  Clock::duration took{};
};

// One thread per call, all on `connection` at once.
std::vector<Outcome> call_at_once(BlockingConnection& connection, std::uint32_t procedure,
                                  const std::vector<std::string>& payloads, Clock::duration timeout = 10s) {
  std::vector<Outcome> outcomes(payloads.size());
  std::vector<std::thread> callers;
  const auto start = Clock::now();
  for (std::size_t i = 0; i < payloads.size(); ++i) {
    callers.emplace_back([&, i] {
      auto& out = outcomes[i];
      out.answered = connection.exchange(procedure, payloads[i], Clock::now() + timeout, out.reply);
      out.took = Clock::now() - start;
    });
  }
  for (auto& caller : callers) caller.join();
  return outcomes;
}

TEST(BlockingTagged, ThreadsShareOneConnectionAndEachAnswerReachesItsCaller) {
  auto server = start_test_server();
  auto connection = connect_probed(endpoint_of(*server));
  ASSERT_TRUE(connection);
  ASSERT_TRUE(connection->tagged());
  std::vector<std::string> payloads;
  for (int i = 0; i < 16; ++i) payloads.push_back(std::to_string(20 * (i % 4)) + ":call " + std::to_string(i));
  for (int round = 0; round < 3; ++round) {
    auto outcomes = call_at_once(*connection, 2, payloads);
    for (std::size_t i = 0; i < outcomes.size(); ++i) {
      ASSERT_TRUE(outcomes[i].answered) << outcomes[i].reply.payload;
      EXPECT_EQ(outcomes[i].reply.payload, "call " + std::to_string(i));
    }
  }
  EXPECT_EQ(server->stats().accepted_total, 1u);
  EXPECT_TRUE(connection->is_open());
}

TEST(BlockingTagged, AnswersComeAsEachFinishesNotInOrder) {
  auto server = start_test_server();
  auto connection = connect_probed(endpoint_of(*server));
  ASSERT_TRUE(connection && connection->tagged());
  std::vector<Outcome> outcomes(2);
  std::atomic<bool> slow_done{false};
  std::thread slow([&] {
    outcomes[0].answered = connection->exchange(2, "600:slow", Clock::now() + 5s, outcomes[0].reply);
    slow_done = true;
  });
  std::this_thread::sleep_for(50ms);  // the slow call is out first, and its caller reads
  outcomes[1].answered = connection->exchange(2, "0:fast", Clock::now() + 5s, outcomes[1].reply);
  const bool fast_first = !slow_done;  // a line connection would answer it after the slow one
  slow.join();
  ASSERT_TRUE(outcomes[0].answered && outcomes[1].answered);
  EXPECT_EQ(outcomes[0].reply.payload, "slow");
  EXPECT_EQ(outcomes[1].reply.payload, "fast");
  EXPECT_TRUE(fast_first);
}

TEST(BlockingTagged, FallsBackToTheLineProtocolOnAVersion1Server) {
  rpc::ServerOptions v1;
  v1.tagged_frames = false;
  auto server = start_test_server(v1);
  auto connection = connect_probed(endpoint_of(*server));
  ASSERT_TRUE(connection);
  EXPECT_FALSE(connection->tagged());
  Reply reply;
  ASSERT_TRUE(connection->exchange(1, "hello", Clock::now() + 2s, reply)) << reply.payload;
  EXPECT_EQ(reply.payload, "hello");
  EXPECT_EQ(server->stats().accepted_total, 1u);  // the same connection as the probe's
}

TEST(BlockingTagged, ADeadlineGivesUpOneCallTellsTheServerAndTheConnectionServesOn) {
  std::atomic<int> given_up{0};
  rpc::ServerOptions options;
  options.threads = 1;
  rpc::Server server(options);
  echo::register_echo_service(server);
  register_give_up_counter(server, given_up);
  server.start();
  auto connection = connect_probed(endpoint_of(server));
  ASSERT_TRUE(connection && connection->tagged());
  Outcome late, other;
  std::thread waiting([&] { other.answered = connection->exchange(2, "300:other", Clock::now() + 5s, other.reply); });
  const auto start = Clock::now();
  late.answered = connection->exchange(waits_for_give_up, "", Clock::now() + 150ms, late.reply);
  const auto took = Clock::now() - start;
  waiting.join();
  // 4 from whichever side gives up first: this caller at its deadline, or
  // the server at the deadline-ms it was told (rounded up) when its answer
  // is read first. Either way only this call ends.
  EXPECT_EQ(late.reply.status, Status::deadline_exceeded) << late.reply.payload;
  EXPECT_LT(took, 1s);
  ASSERT_TRUE(other.answered) << other.reply.payload;  // the other call went on
  EXPECT_EQ(other.reply.payload, "other");
  // The server was told (deadline-ms, then the cancel): its handler stopped.
  for (auto until = Clock::now() + 2s; given_up.load() == 0 && Clock::now() < until;) std::this_thread::sleep_for(10ms);
  EXPECT_EQ(given_up.load(), 1);
  // The server's late `1#<id>:cancelled` and the cancel's pong wait unread
  // on the socket: the connection still looks open to the pool's check.
  std::this_thread::sleep_for(50ms);
  EXPECT_TRUE(connection->peer_looks_open());
  Reply after;
  ASSERT_TRUE(connection->exchange(1, "after", Clock::now() + 2s, after)) << after.payload;
  EXPECT_EQ(after.payload, "after");
  server.stop();
  server.wait();
}

TEST(BlockingTagged, CallsCarryTheirDeadlineTraceAndRequestId) {
  auto server = start_test_server();
  auto connection = connect_probed(endpoint_of(*server));
  ASSERT_TRUE(connection && connection->tagged());
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  Reply reply;
  ASSERT_TRUE(connection->exchange(call_keys_procedure, "", Clock::now() + 2s, reply,
                                   rpc::CallKeys{traceparent, "req-9"}));
  const int left = std::stoi(reply.payload.substr(reply.payload.find("deadline-ms=") + 12));
  EXPECT_GT(left, 1000) << reply.payload;
  EXPECT_LE(left, 2000) << reply.payload;
  EXPECT_NE(reply.payload.find("traceparent=" + traceparent), std::string::npos) << reply.payload;
  EXPECT_NE(reply.payload.find("request-id=req-9"), std::string::npos) << reply.payload;
}

// A peer that answers the probe, takes the calls and hangs up: every call
// waiting on the connection fails (14, not answered) at once.
TEST(BlockingTagged, AConnectionCutFailsEveryCallOnItWith14) {
  asio::io_context server_ctx;
  asio::ip::tcp::acceptor acceptor(server_ctx, {asio::ip::make_address("127.0.0.1"), 0});
  std::thread server([&] {
    asio::ip::tcp::socket peer(server_ctx);
    acceptor.accept(peer);
    asio::streambuf line;
    asio::read_until(peer, line, '\n');
    asio::write(peer, asio::buffer(std::string("0#1:pong\n")));
    std::this_thread::sleep_for(300ms);  // the calls arrive and wait
  });  // the socket closes
  auto connection = connect_probed(acceptor.local_endpoint());
  ASSERT_TRUE(connection && connection->tagged());
  auto outcomes = call_at_once(*connection, 1, std::vector<std::string>(6, "never answered"));
  server.join();
  for (const auto& outcome : outcomes) {
    EXPECT_FALSE(outcome.answered);
    EXPECT_EQ(outcome.reply.status, Status::unavailable) << outcome.reply.payload;
    EXPECT_LT(outcome.took, 3s);
  }
  EXPECT_FALSE(connection->is_open());
  Reply reply;
  EXPECT_FALSE(connection->exchange(1, "x", Clock::now() + 1s, reply));
  EXPECT_EQ(reply.status, Status::unavailable);
}

// A stopping server answers the calls it cuts `14#<id>` (they may go
// elsewhere, CONTRACT §8), then closes: the next call fails with 14.
TEST(BlockingTagged, AStoppingServerAnswersItsCutCalls14) {
  TestBackend backend;
  auto connection = connect_probed({asio::ip::make_address("127.0.0.1"), backend.port()});
  ASSERT_TRUE(connection && connection->tagged());
  std::thread killer([&] {
    std::this_thread::sleep_for(200ms);
    backend.kill();
  });
  auto outcomes = call_at_once(*connection, tracked_procedure, std::vector<std::string>(4, "5000:never"));
  killer.join();
  for (const auto& outcome : outcomes) {
    EXPECT_EQ(outcome.reply.status, Status::unavailable) << outcome.reply.payload;
    EXPECT_LT(outcome.took, 3s);
  }
  Reply reply;
  EXPECT_FALSE(connection->exchange(1, "x", Clock::now() + 1s, reply));
  EXPECT_EQ(reply.status, Status::unavailable);
  EXPECT_FALSE(connection->is_open());
}

// The probe's answer decides (rpc/codec.h, read_probe_answer): pong or any
// untagged answer but 8 and 14 keep the connection; the rest fail the
// connect with nothing sent.
TEST(BlockingTagged, TheProbeAnswerDecidesTheConnection) {
  struct Case {
    std::string answer;
    bool connects;
    bool tagged;
  };
  for (const Case& c : {Case{"0#1:pong\n", true, true}, Case{"3:bad digit\n", true, false},
                        Case{"12:unknown procedure\n", true, false}, Case{"8:too many connections\n", false, false},
                        Case{"14:not processed: the server is stopping\n", false, false},
                        Case{"14#1:stopping\n", false, false}, Case{"0#2:pong\n", false, false}}) {
    asio::io_context server_ctx;
    asio::ip::tcp::acceptor acceptor(server_ctx, {asio::ip::make_address("127.0.0.1"), 0});
    std::string asked;
    std::thread server([&] {
      asio::ip::tcp::socket peer(server_ctx);
      acceptor.accept(peer);
      asio::streambuf line;
      asio::read_until(peer, line, '\n');
      asked.assign(asio::buffers_begin(line.data()), asio::buffers_end(line.data()));
      asio::write(peer, asio::buffer(c.answer));
      std::this_thread::sleep_for(100ms);
    });
    std::string error;
    auto connection = BlockingConnection::connect(acceptor.local_endpoint(), 2s, rpc::default_max_frame_bytes, error, true);
    server.join();
    EXPECT_EQ(asked, "0#1:\n");
    EXPECT_EQ(connection != nullptr, c.connects) << c.answer << error;
    if (connection) {
      EXPECT_EQ(connection->tagged(), c.tagged) << c.answer;
    } else {
      EXPECT_NE(error.find("probe"), std::string::npos) << error;
    }
  }
}

}  // namespace
}  // namespace routing::test
