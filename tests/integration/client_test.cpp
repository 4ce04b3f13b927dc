// The async pipelining client connection and the blocking client.
#include "rpc/blocking_client.h"
#include "rpc/client_connection.h"
#include "support/ports.h"
#include "support/test_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <sys/socket.h>
#include <netinet/in.h>
#include <unistd.h>

namespace routing::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

std::string address_of(const rpc::Server& server) {
  return "127.0.0.1:" + std::to_string(server.local_endpoint().port());
}

TEST(ClientConnection, PipelinesConcurrentCallsAndMatchesAnswersInOrder) {
  auto server = start_test_server();
  asio::io_context ctx;
  auto connection = rpc::ClientConnection::create(ctx.get_executor());
  std::vector<std::string> answers(1000);
  std::size_t max_in_flight = 0;
  std::size_t answered = 0;

  asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
    auto ec = co_await connection->connect(server->local_endpoint());
    EXPECT_FALSE(ec);
    for (int i = 0; i < 1000; ++i) {
      asio::co_spawn(ctx, [&, i]() -> asio::awaitable<void> {
        Reply reply = co_await connection->async_call(1, "call " + std::to_string(i), asio::use_awaitable);
        answers[i] = reply.payload;
        if (++answered == answers.size()) connection->close();  // lets run() return
      }, asio::detached);
    }
    max_in_flight = connection->in_flight();
  }, asio::detached);
  ctx.run_for(10s);

  EXPECT_GT(max_in_flight, 0u);
  for (int i = 0; i < 1000; ++i) ASSERT_EQ(answers[i], "call " + std::to_string(i));
}

TEST(ClientConnection, FailsOutstandingCallsWhenTheServerGoesAway) {
  rpc::ServerOptions options;
  options.drain_timeout = 200ms;
  auto server = start_test_server(options);
  auto endpoint = server->local_endpoint();  // read here: another thread resets `server`
  asio::io_context ctx;
  auto connection = rpc::ClientConnection::create(ctx.get_executor());
  std::vector<Reply> replies;
  asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
    co_await connection->connect(endpoint);
    for (int i = 0; i < 3; ++i) {
      asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
        replies.push_back(co_await connection->async_call(2, "5000:x", asio::use_awaitable));
      }, asio::detached);
    }
  }, asio::detached);
  std::thread stopper([&] {
    std::this_thread::sleep_for(100ms);
    server.reset();  // drains: the slow calls are cut after the drain timeout
  });
  ctx.run_for(20s);
  stopper.join();
  ASSERT_EQ(replies.size(), 3u);
  for (auto& reply : replies) EXPECT_EQ(reply.status, Status::unavailable) << reply.payload;
  EXPECT_FALSE(connection->is_open());

  Reply after;
  connection->async_call(1, "x", [&](Reply r) { after = std::move(r); });
  ctx.restart();
  ctx.run_for(1s);
  EXPECT_EQ(after.status, Status::unavailable);
}

TEST(BlockingClient, CallsAndPipelines) {
  auto server = start_test_server();
  rpc::BlockingClient client(address_of(*server));
  Reply reply = client.call(1, "hi\nthere");
  EXPECT_TRUE(reply.ok());
  EXPECT_EQ(reply.payload, "hi\nthere");

  auto replies = client.call_pipelined({{1, "a"}, {0, ""}, {99, ""}, {41, "no"}});
  ASSERT_EQ(replies.size(), 4u);
  EXPECT_EQ(replies[0].payload, "a");
  EXPECT_EQ(replies[1].payload, "pong");
  EXPECT_EQ(replies[2].status, Status::unimplemented);
  EXPECT_EQ(replies[3].status, Status::permission_denied);
}

TEST(BlockingClient, TimesOutWithStatus4AndRecovers) {
  auto server = start_test_server();
  rpc::BlockingClient client(address_of(*server), 200ms);
  auto start = std::chrono::steady_clock::now();
  Reply slow = client.call(2, "2000:late");
  EXPECT_EQ(slow.status, Status::deadline_exceeded);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 1500ms);
  Reply next = client.call(1, "fresh");  // reconnects: no stale answer leaks in
  EXPECT_EQ(next.payload, "fresh");
}

TEST(BlockingClient, AnswersUnavailableWhenNothingListens) {
  rpc::BlockingClient client("127.0.0.1:" + std::to_string(free_port()), 1s);
  EXPECT_EQ(client.call(1, "x").status, Status::unavailable);
  rpc::BlockingClient bad_address("not-an-address", 1s);
  EXPECT_EQ(bad_address.call(1, "x").status, Status::invalid_argument);
}

}  // namespace
}  // namespace routing::test
