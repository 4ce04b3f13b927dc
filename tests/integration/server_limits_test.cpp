// Server limits and lifecycle: idle timeout, connection cap, graceful stop.
#include "support/raw_socket.h"
#include "support/test_server.h"

#include "support/eventually.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;


TEST(ServerLimits, ClosesIdleConnections) {
  rpc::ServerOptions options;
  options.idle_timeout = 200ms;
  auto server = start_test_server(options);
  RawSocket idle(server->local_endpoint().port());
  auto start = Clock::now();
  EXPECT_TRUE(idle.wait_closed());
  auto waited = Clock::now() - start;
  EXPECT_GE(waited, 150ms);
  EXPECT_TRUE(eventually([&] { return server->stats().open_connections == 0; }));
}

TEST(ServerLimits, DoesNotCountALongCallAsIdleness) {
  rpc::ServerOptions options;
  options.idle_timeout = 100ms;
  auto server = start_test_server(options);
  RawSocket busy(server->local_endpoint().port());
  busy.send("2:400:done\n");
  EXPECT_EQ(busy.read_line(), "0:done");
  busy.send("1:still open\n");
  EXPECT_EQ(busy.read_line(), "0:still open");
}

TEST(ServerLimits, ClosesAConnectionWhoseFrameTricklesIn) {
  rpc::ServerOptions options;
  options.frame_timeout = 300ms;
  auto server = start_test_server(options);
  RawSocket slow(server->local_endpoint().port());
  slow.send("1:first\n1:sec");  // one whole frame, then one begun
  EXPECT_EQ(slow.read_line(), "0:first");
  auto start = Clock::now();
  // One byte every 50 ms keeps the connection busy, never idle: only the
  // frame's own time limit can end it.
  auto trickle = std::async(std::launch::async, [&] {
    for (int i = 0; i < 40 && slow.connected(); ++i) {
      std::this_thread::sleep_for(50ms);
      try {
        slow.send("o");
      } catch (...) {
        return;
      }
    }
  });
  EXPECT_EQ(slow.read_line(), "4:frame not completed within 300 ms");
  EXPECT_TRUE(slow.wait_closed());
  EXPECT_GE(Clock::now() - start, 250ms);
  EXPECT_LT(Clock::now() - start, 1500ms);
  trickle.wait();
}

TEST(ServerLimits, FrameTimeLimitIgnoresQuietConnectionsAndSlowCalls) {
  rpc::ServerOptions options;
  options.frame_timeout = 100ms;
  auto server = start_test_server(options);
  RawSocket client(server->local_endpoint().port());
  std::this_thread::sleep_for(300ms);  // quiet between frames: not a partial frame
  client.send("2:300:slow\n");        // a call longer than the limit
  EXPECT_EQ(client.read_line(), "0:slow");
  client.send("1:");
  std::this_thread::sleep_for(50ms);
  client.send("in two parts\n");      // completes within the limit
  EXPECT_EQ(client.read_line(), "0:in two parts");
}

TEST(ServerLimits, RefusesConnectionsOverTheLimitWithStatus8) {
  rpc::ServerOptions options;
  options.max_connections = 2;
  auto server = start_test_server(options);
  auto port = server->local_endpoint().port();
  RawSocket a(port), b(port);
  a.send("0:\n");
  b.send("0:\n");
  ASSERT_EQ(a.read_line(), "0:pong");
  ASSERT_EQ(b.read_line(), "0:pong");

  RawSocket c(port);
  EXPECT_EQ(c.read_line(), "8:too many connections");
  EXPECT_TRUE(c.wait_closed());
  EXPECT_EQ(server->stats().rejected_total, 1u);

  a.shutdown_write();
  ASSERT_TRUE(a.wait_closed());
  ASSERT_TRUE(eventually([&] { return server->stats().open_connections == 1; }));
  RawSocket d(port);
  d.send("0:\n");
  EXPECT_EQ(d.read_line(), "0:pong");
}

TEST(ServerLimits, AtTheLimitANewcomerReplacesTheQuietestConnection) {
  rpc::ServerOptions options;
  options.max_connections = 3;
  auto server = start_test_server(options);
  auto port = server->local_endpoint().port();
  RawSocket silent(port);
  std::this_thread::sleep_for(50ms);  // quiet times count to within a clock tick (a few ms)
  RawSocket early(port), busy(port);
  early.send("0:\n");
  ASSERT_EQ(early.read_line(), "0:pong");
  std::this_thread::sleep_for(300ms);
  ASSERT_EQ(busy.send_within("2:3000:busy\n", 1s), 12u);  // a call in progress is never evicted
  std::this_thread::sleep_for(1200ms);  // all three quiet > 1 s; `silent` never sent a byte, the longest

  RawSocket newcomer(port);
  newcomer.send("0:\n");
  EXPECT_EQ(newcomer.read_line(), "0:pong");
  EXPECT_TRUE(silent.wait_closed());
  EXPECT_EQ(server->stats().evicted_total, 1u);
  EXPECT_EQ(busy.read_line(), "0:busy");  // the others stay

  // Nobody quiet long enough: the next newcomer is refused as before.
  for (RawSocket* active : {&early, &newcomer}) {
    active->send("0:\n");
    ASSERT_EQ(active->read_line(), "0:pong");
  }
  RawSocket late(port);
  EXPECT_EQ(late.read_line(), "8:too many connections");
  EXPECT_EQ(server->stats().rejected_total, 1u);
}

TEST(ServerLimits, ReleasesEveryConnectionItClosed) {
  auto server = start_test_server();
  auto port = server->local_endpoint().port();
  for (int i = 0; i < 300; ++i) {
    RawSocket s(port);
    if (i % 3 == 0) s.send("1:x\n");        // answered, then reset by our close
    if (i % 3 == 1) s.send("1:x\ngarbage");  // closed mid-frame
  }
  // Connections the clients already closed may still wait to be accepted.
  EXPECT_TRUE(eventually([&] {
    auto stats = server->stats();
    return stats.accepted_total == 300 && stats.open_connections == 0;
  })) << server->stats().accepted_total << " accepted, " << server->stats().open_connections << " open";
}

TEST(ServerLimits, GracefulStopFinishesCallsInFlight) {
  rpc::ServerOptions options;
  options.threads = 2;
  auto server = start_test_server(options);
  auto port = server->local_endpoint().port();
  std::vector<RawSocket> callers;
  for (int i = 0; i < 10; ++i) {
    callers.emplace_back(port);
    callers.back().send("2:300:in flight " + std::to_string(i) + "\n");
  }
  RawSocket idle(port);
  std::this_thread::sleep_for(50ms);  // let the calls start

  auto stopped = std::async(std::launch::async, [&] {
    server->stop();
    server->wait();
  });
  for (int i = 0; i < 10; ++i) {
    EXPECT_EQ(callers[i].read_line(), "0:in flight " + std::to_string(i));
    EXPECT_TRUE(callers[i].wait_closed());
  }
  EXPECT_TRUE(idle.wait_closed());
  EXPECT_EQ(stopped.wait_for(5s), std::future_status::ready);
  RawSocket late(port);
  EXPECT_FALSE(late.connected());
}

TEST(ServerLimits, ADrainingServerStillAnswersAsALameDuckThenClosesQuietConnections) {
  rpc::ServerOptions options;
  options.drain_quiet = 300ms;
  auto server = start_test_server(options);
  RawSocket client(server->local_endpoint().port());
  client.send("0:\n");
  ASSERT_EQ(client.read_line(), "0:pong");
  auto stopped = std::async(std::launch::async, [&] {
    server->stop();
    server->wait();
  });
  std::this_thread::sleep_for(100ms);
  // A client that has not heard the server is leaving is still served...
  client.send("1:just in time\n");
  EXPECT_EQ(client.read_line(), "0:just in time");
  // ...and once it is quiet, the connection closes and the server stops.
  auto quiet_since = Clock::now();
  EXPECT_TRUE(client.wait_closed());
  EXPECT_GE(Clock::now() - quiet_since, 250ms);
  EXPECT_EQ(stopped.wait_for(5s), std::future_status::ready);
}

TEST(ServerLimits, DrainTimeoutCutsCallsThatTakeTooLong) {
  rpc::ServerOptions options;
  options.drain_timeout = 200ms;
  auto server = start_test_server(options);
  RawSocket caller(server->local_endpoint().port());
  caller.send("2:60000:never\n2:0:queued\n");
  std::this_thread::sleep_for(50ms);
  auto start = Clock::now();
  server->stop();
  server->wait();
  EXPECT_LT(Clock::now() - start, 3s);
  // What was read is answered before the cut: the call in flight (outcome
  // unknown), then the one read behind it (certainly not processed).
  EXPECT_EQ(caller.read_line(), "14:cut at the server's drain timeout: the call may have been processed");
  EXPECT_EQ(caller.read_line(), "14:not processed: the server is stopping");
  EXPECT_TRUE(caller.wait_closed());
}

TEST(ServerLimits, StopsReadingFromAClientThatNeverReadsAnswers) {
  rpc::ServerOptions options;
  options.max_pending_output_bytes = 64 * 1024;
  options.drain_timeout = 500ms;
  auto server = start_test_server(options);
  RawSocket flooder(server->local_endpoint().port());
  // Pipeline far more answers than the socket buffers plus the output limit hold.
  std::string chunk;
  for (int i = 0; i < 1000; ++i) chunk += "1:" + std::string(1000, 'a') + "\n";
  auto sent = std::async(std::launch::async, [&] {
    try {
      for (int i = 0; i < 200; ++i) flooder.send(chunk);  // 200 MB if nothing pushed back
    } catch (...) {
    }
  });
  // The sender must block: the server stopped reading instead of buffering.
  EXPECT_EQ(sent.wait_for(2s), std::future_status::timeout);
  // A well-behaved client is still served meanwhile.
  RawSocket polite(server->local_endpoint().port());
  polite.send("0:\n");
  EXPECT_EQ(polite.read_line(), "0:pong");
  server->stop();
  server->wait();  // cuts the flooder after the drain timeout at the latest
  sent.wait();
}

}  // namespace
}  // namespace routing::test
