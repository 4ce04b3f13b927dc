// rpc::ClientConnection over tagged frames (CONTRACT §8): the probe and the
// fall-back to the line protocol, answers matched by id in any order, one
// call given up alone (deadline, cancel) while the connection serves on, and
// the keys each call carries.
#include "rpc/client_connection.h"
#include "support/test_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read_until.hpp>
#include <boost/asio/streambuf.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>

#include <boost/asio/this_coro.hpp>

#include <atomic>
#include <optional>
#include <thread>

namespace routing::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using rpc::ClientConnection;

struct Answer {
  Reply reply;
  bool answered = false;
  Clock::time_point at;
};

// One io_context, one connection to `server`, probed.
class TaggedClient {
 public:
  explicit TaggedClient(const rpc::Server& server) : connection_(ClientConnection::create(ctx_.get_executor())) {
    asio::co_spawn(ctx_, [this, endpoint = server.local_endpoint()]() -> asio::awaitable<void> {
      connect_error_ = co_await connection_->connect(endpoint);
      if (!connect_error_) tagged_ = co_await connection_->async_probe_tagged(Clock::now() + 2s, asio::use_awaitable);
      probed_ = true;
    }, asio::detached);
    auto until = Clock::now() + 3s;
    while (!probed_ && Clock::now() < until) ctx_.run_one_for(100ms);
    ctx_.restart();
  }
  // Starts a call; its answer lands in the returned slot.
  std::shared_ptr<std::optional<Answer>> call(std::uint32_t procedure, std::string payload,
                                              Clock::duration timeout = 10s, ClientConnection::CallKeys keys = {},
                                              std::uint64_t* id = nullptr) {
    auto slot = std::make_shared<std::optional<Answer>>();
    const auto deadline = timeout == Clock::duration::max() ? Clock::time_point::max() : Clock::now() + timeout;
    auto started = connection_->call_then(procedure, payload, deadline,
                                          [slot](Reply& reply, bool answered) {
                                            *slot = Answer{std::move(reply), answered, Clock::now()};
                                          },
                                          keys);
    if (id) *id = started;
    return slot;
  }
  // Runs the loop until every slot is filled (or 10 s).
  void wait_for(std::initializer_list<std::shared_ptr<std::optional<Answer>>> slots) {
    auto all = [&] {
      for (auto& s : slots) {
        if (!s->has_value()) return false;
      }
      return true;
    };
    auto until = Clock::now() + 10s;
    while (!all() && Clock::now() < until) {
      ctx_.run_one_for(100ms);
    }
    ctx_.restart();
  }
  void run_for(Clock::duration d) {
    ctx_.run_for(d);
    ctx_.restart();
  }
  ClientConnection& connection() { return *connection_; }
  bool tagged() const { return tagged_; }
  bool connected() const { return !connect_error_; }

 private:
  asio::io_context ctx_;
  std::shared_ptr<ClientConnection> connection_;
  rpc::error_code connect_error_;
  bool tagged_ = false;
  bool probed_ = false;
};

TEST(TaggedClient, ProbesAndMatchesAnswersByIdAsEachFinishes) {
  auto server = start_test_server();
  TaggedClient client(*server);
  ASSERT_TRUE(client.connected());
  ASSERT_TRUE(client.tagged());
  EXPECT_TRUE(client.connection().tagged());
  auto slow = client.call(2, "300:slow");
  auto fast = client.call(1, "fast");
  auto later = client.call(42, "x");  // answered from a later turn of the server's loop
  EXPECT_EQ(client.connection().in_flight(), 3u);
  client.wait_for({slow, fast, later});
  ASSERT_TRUE(*slow && *fast && *later);
  EXPECT_EQ((*fast)->reply.payload, "fast");
  EXPECT_EQ((*later)->reply.payload, "later x");
  EXPECT_EQ((*slow)->reply.payload, "slow");
  EXPECT_TRUE((*slow)->answered && (*fast)->answered);
  EXPECT_LT((*fast)->at, (*slow)->at);  // not held behind the slow one
  EXPECT_EQ(client.connection().in_flight(), 0u);
}

TEST(TaggedClient, FallsBackToTheLineProtocolOnAVersion1Server) {
  rpc::ServerOptions v1;
  v1.tagged_frames = false;
  auto server = start_test_server(v1);
  TaggedClient client(*server);
  ASSERT_TRUE(client.connected());
  EXPECT_FALSE(client.tagged());
  EXPECT_TRUE(client.connection().is_open());  // the refused probe costs the connection nothing
  auto first = client.call(2, "100:first");
  auto second = client.call(1, "second");
  client.wait_for({first, second});
  ASSERT_TRUE(*first && *second);
  EXPECT_EQ((*first)->reply.payload, "first");
  EXPECT_EQ((*second)->reply.payload, "second");
  EXPECT_LE((*first)->at, (*second)->at);  // the line protocol answers in order
}

TEST(TaggedClient, ADeadlineGivesUpOneCallAndTheConnectionServesOn) {
  auto server = start_test_server();
  TaggedClient client(*server);
  ASSERT_TRUE(client.tagged());
  auto late = client.call(2, "400:late", 100ms);
  auto meanwhile = client.call(2, "200:meanwhile");
  client.wait_for({late, meanwhile});
  ASSERT_TRUE(*late && *meanwhile);
  // 4 from whichever side's timer fires first: the client's own, or the
  // server's (it was told deadline-ms, rounded up) when its answer is read
  // first on a loaded machine. Either way only this call ends.
  EXPECT_EQ((*late)->reply.status, Status::deadline_exceeded);
  EXPECT_EQ((*meanwhile)->reply.payload, "meanwhile");
  client.run_for(500ms);  // the server's own answer to the given-up call comes and is dropped
  EXPECT_TRUE(client.connection().is_open());
  auto after = client.call(1, "after");
  client.wait_for({after});
  ASSERT_TRUE(*after);
  EXPECT_EQ((*after)->reply.payload, "after");
  EXPECT_EQ(client.connection().in_flight(), 0u);
}

std::unique_ptr<rpc::Server> start_server_counting_give_ups(std::atomic<int>& given_up) {
  rpc::ServerOptions options;
  options.threads = 1;
  auto server = std::make_unique<rpc::Server>(options);
  echo::register_echo_service(*server);
  register_give_up_counter(*server, given_up);
  server->start();
  return server;
}

TEST(TaggedClient, CancelGivesUpOneCallAndTellsTheServer) {
  std::atomic<int> given_up{0};
  auto server = start_server_counting_give_ups(given_up);
  TaggedClient client(*server);
  ASSERT_TRUE(client.tagged());
  std::uint64_t id = 0;
  auto slow = client.call(waits_for_give_up, "", 10s, {}, &id);
  auto other = client.call(2, "300:other");
  ASSERT_NE(id, 0u);
  client.run_for(50ms);
  client.connection().cancel(id);
  client.wait_for({slow});
  ASSERT_TRUE(*slow);
  EXPECT_EQ((*slow)->reply.status, Status::cancelled);
  EXPECT_FALSE((*slow)->answered);
  EXPECT_FALSE(*other);  // the other call goes on
  client.wait_for({other});
  ASSERT_TRUE(*other);
  EXPECT_EQ((*other)->reply.payload, "other");
  // The server gave the call up too (its handler stopped waiting).
  EXPECT_EQ(given_up.load(), 1);
  client.run_for(100ms);  // its answer (1#id:cancelled) comes and is dropped
  EXPECT_TRUE(client.connection().is_open());
  client.connection().cancel(id);  // answered already: nothing happens
  EXPECT_TRUE(client.connection().is_open());
}

TEST(TaggedClient, CallsCarryTheirDeadlineTraceAndRequestId) {
  auto server = start_test_server();
  TaggedClient client(*server);
  ASSERT_TRUE(client.tagged());
  const std::string traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
  auto keyed = client.call(call_keys_procedure, "", 5s, {.traceparent = traceparent, .request_id = "req-42"});
  auto plain = client.call(call_keys_procedure, "", Clock::duration::max());
  client.wait_for({keyed, plain});
  ASSERT_TRUE(*keyed && *plain);
  const std::string& keys = (*keyed)->reply.payload;
  auto at = keys.find("deadline-ms=");
  ASSERT_NE(at, std::string::npos) << keys;
  const int left = std::stoi(keys.substr(at + 12));
  EXPECT_GT(left, 4000) << keys;
  EXPECT_LE(left, 5000) << keys;
  EXPECT_NE(keys.find("traceparent=" + traceparent), std::string::npos) << keys;
  EXPECT_NE(keys.find("request-id=req-42"), std::string::npos) << keys;
  EXPECT_EQ((*plain)->reply.payload, "deadline-ms=none traceparent= request-id=");

  // Values the contract does not allow are left out, not sent to break (or
  // inject) a frame; the connection and its other calls go on.
  auto bad = client.call(call_keys_procedure, "", Clock::duration::max(),
                         {.traceparent = "has space", .request_id = "x:1\n0#9;cancel=1:"});
  client.wait_for({bad});
  ASSERT_TRUE(*bad);
  EXPECT_EQ((*bad)->reply.payload, "deadline-ms=none traceparent= request-id=");
  EXPECT_TRUE(client.connection().is_open());
}

// A server that answers the probe with anything but its pong or a version-1
// server's `3:` (a stopping server's 14, with or without the tag; 8 from one
// at its connection limit) is not used, and the probe completes rather than
// hanging its caller: the connect fails with nothing sent, so the call may
// go elsewhere.
TEST(TaggedClient, AProbeAnsweredWithAnythingButPongOrThreeClosesTheConnection) {
  for (std::string answer : {"14#1:not processed: the server is stopping\n", "8:too many connections\n",
                             "14:not processed: the server is stopping\n"}) {
    asio::io_context server_ctx;
    asio::ip::tcp::acceptor acceptor(server_ctx, {asio::ip::make_address("127.0.0.1"), 0});
    std::thread server([&] {
      asio::ip::tcp::socket peer(server_ctx);
      acceptor.accept(peer);
      asio::streambuf line;
      asio::read_until(peer, line, '\n');
      asio::write(peer, asio::buffer(answer));
      std::this_thread::sleep_for(200ms);  // the client closes first
    });
    asio::io_context ctx;
    auto connection = ClientConnection::create(ctx.get_executor());
    std::optional<bool> tagged;
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
      co_await connection->connect(acceptor.local_endpoint());
      tagged = co_await connection->async_probe_tagged(Clock::now() + 5s, asio::use_awaitable);
    }, asio::detached);
    ctx.run_for(3s);
    server.join();
    ASSERT_TRUE(tagged.has_value()) << answer;  // completed, not left hanging
    EXPECT_FALSE(*tagged) << answer;
    EXPECT_FALSE(connection->is_open()) << answer;
  }
}

}  // namespace
}  // namespace routing::test
