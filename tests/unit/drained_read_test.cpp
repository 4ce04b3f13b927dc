// DrainedReader: after a short read the next read waits for epoll instead of
// trying recv at once; no readiness is lost between two reads.
#include "rpc/drained_read.h"

#include <boost/asio/bind_allocator.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <chrono>
#include <memory>
#include <optional>
#include <string>

namespace routing::rpc {
namespace {

using asio::ip::tcp;
using namespace std::chrono_literals;

// A connected loopback pair: `socket` is read through the reader, `peer`
// writes with blocking calls.
struct Pair {
  asio::io_context loop;
  tcp::socket socket{loop};
  tcp::socket peer{loop};

  Pair() {
    tcp::acceptor acceptor(loop, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer.connect(acceptor.local_endpoint());
    acceptor.accept(socket);
    socket.non_blocking(true);
  }
  void send(const std::string& bytes) { asio::write(peer, asio::buffer(bytes)); }
};

struct Result {
  std::optional<error_code> ec;
  std::size_t bytes = 0;
  auto handler() {
    ec.reset();
    return [this](error_code e, std::size_t n) {
      ec = e;
      bytes = n;
    };
  }
};

// Runs the loop until the read completed (or a second passed: a lost wake-up).
bool run_until_done(Pair& pair, const Result& result) {
  pair.loop.restart();
  const auto give_up = std::chrono::steady_clock::now() + 1s;
  while (!result.ec && std::chrono::steady_clock::now() < give_up) pair.loop.run_one_for(10ms);
  return result.ec.has_value();
}

// Lets the loop handle every event ready now (epoll included).
void settle(Pair& pair) {
  pair.loop.restart();
  pair.loop.poll();
}

TEST(DrainedReader, AfterAShortReadTheNextReadWaitsForEpollInsteadOfTrying) {
  if (!DrainedReader::skips_empty_tries) GTEST_SKIP() << "not with this Asio: reads are Asio's own";
  Pair pair;
  DrainedReader reader(pair.socket);
  char space[64];
  Result result;
  reader.async_read_some(asio::buffer(space), result.handler());
  settle(pair);
  EXPECT_FALSE(result.ec) << "nothing sent yet";
  EXPECT_EQ(reader.attempts(), 1u) << "a new socket is tried at once, as with Asio";

  pair.send("abc");
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(*result.ec, error_code());
  EXPECT_EQ(std::string(space, result.bytes), "abc");
  EXPECT_EQ(reader.attempts(), 2u);

  // 3 of 64 bytes: the socket is empty. Asio's own read would try recv now.
  reader.async_read_some(asio::buffer(space), result.handler());
  settle(pair);
  EXPECT_FALSE(result.ec);
  EXPECT_EQ(reader.attempts(), 2u) << "a recv that could only find nothing";

  pair.send("de");
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(std::string(space, result.bytes), "de");
  EXPECT_EQ(reader.attempts(), 3u);
}

TEST(DrainedReader, BytesArrivingWhileNoReadIsPendingAreReadAtTheNextStart) {
  Pair pair;
  DrainedReader reader(pair.socket);
  char space[64];
  Result result;
  reader.async_read_some(asio::buffer(space), result.handler());
  pair.send("first");
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(std::string(space, result.bytes), "first");

  // The event for these bytes is handled while no read is pending.
  pair.send("second");
  settle(pair);
  reader.async_read_some(asio::buffer(space), result.handler());
  ASSERT_TRUE(run_until_done(pair, result)) << "the readiness was lost: the read would wait forever";
  EXPECT_EQ(std::string(space, result.bytes), "second");
}

TEST(DrainedReader, AReadThatFillsItsSpaceTriesAgainAtOnce) {
  Pair pair;
  DrainedReader reader(pair.socket);
  char space[4];
  Result result;
  reader.async_read_some(asio::buffer(space), result.handler());
  pair.send("0123456789");
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(std::string(space, result.bytes), "0123");
  settle(pair);  // no event is left: the rest must come from the read's own try

  reader.async_read_some(asio::buffer(space), result.handler());
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(std::string(space, result.bytes), "4567");
  reader.async_read_some(asio::buffer(space), result.handler());
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(std::string(space, result.bytes), "89");
}

TEST(DrainedReader, ThePeerClosingAfterAShortReadIsSeenAsEndOfFile) {
  Pair pair;
  DrainedReader reader(pair.socket);
  char space[64];
  Result result;
  reader.async_read_some(asio::buffer(space), result.handler());
  pair.send("last words");
  ASSERT_TRUE(run_until_done(pair, result));
  reader.async_read_some(asio::buffer(space), result.handler());
  settle(pair);
  pair.peer.close();
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(*result.ec, asio::error::eof);
  EXPECT_EQ(result.bytes, 0u);
}

// recv takes the FIN together with the bytes before it; if epoll reported
// both at once, no later event comes: the read after them must still try.
TEST(DrainedReader, BytesAndTheFinReportedTogetherStillEndInEndOfFile) {
  Pair pair;
  DrainedReader reader(pair.socket);
  char space[64];
  Result result;
  reader.async_read_some(asio::buffer(space), result.handler());
  settle(pair);
  pair.send("bye");
  pair.peer.shutdown(tcp::socket::shutdown_send);
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(std::string(space, result.bytes), "bye");
  reader.async_read_some(asio::buffer(space), result.handler());
  ASSERT_TRUE(run_until_done(pair, result)) << "the end of file was lost";
  EXPECT_EQ(*result.ec, asio::error::eof);
}

TEST(DrainedReader, BytesAndTheFinReportedWhileNoReadIsPendingStillEndInEndOfFile) {
  Pair pair;
  DrainedReader reader(pair.socket);
  char space[64];
  Result result;
  reader.async_read_some(asio::buffer(space), result.handler());
  pair.send("hello");
  ASSERT_TRUE(run_until_done(pair, result));
  pair.send("bye");
  pair.peer.shutdown(tcp::socket::shutdown_send);
  settle(pair);  // epoll reports the bytes and the FIN; no read is pending
  reader.async_read_some(asio::buffer(space), result.handler());
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(std::string(space, result.bytes), "bye");
  reader.async_read_some(asio::buffer(space), result.handler());
  ASSERT_TRUE(run_until_done(pair, result)) << "the end of file was lost";
  EXPECT_EQ(*result.ec, asio::error::eof);
}

TEST(DrainedReader, ACancellationSignalOrClosingTheSocketAbortsThePendingRead) {
  Pair pair;
  DrainedReader reader(pair.socket);
  char space[64];
  Result result;
  asio::cancellation_signal cancel;
  reader.async_read_some(asio::buffer(space), asio::bind_cancellation_slot(cancel.slot(), result.handler()));
  settle(pair);
  cancel.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(*result.ec, asio::error::operation_aborted);

  reader.async_read_some(asio::buffer(space), result.handler());
  settle(pair);
  pair.socket.close();
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(*result.ec, asio::error::operation_aborted);
}

// Counts what the read's state takes from the handler's allocator.
template <class T>
struct CountingAllocator {
  using value_type = T;
  int* allocations;
  explicit CountingAllocator(int* counter) : allocations(counter) {}
  template <class U>
  CountingAllocator(const CountingAllocator<U>& other) : allocations(other.allocations) {}  // NOLINT: rebinding
  T* allocate(std::size_t n) {
    ++*allocations;
    return std::allocator<T>().allocate(n);
  }
  void deallocate(T* p, std::size_t n) { std::allocator<T>().deallocate(p, n); }
  template <class U>
  bool operator==(const CountingAllocator<U>& other) const {
    return allocations == other.allocations;
  }
};

TEST(DrainedReader, TheReadsStateComesFromTheHandlersAllocator) {
  Pair pair;
  DrainedReader reader(pair.socket);
  char space[64];
  Result result;
  int allocations = 0;
  reader.async_read_some(asio::buffer(space), asio::bind_allocator(CountingAllocator<void>(&allocations), result.handler()));
  pair.send("x");
  ASSERT_TRUE(run_until_done(pair, result));
  EXPECT_EQ(allocations, 1);
}

TEST(DrainedReader, ALoopDestroyedFirstDropsThePendingReadsHandlerUnrun) {
  auto held = std::make_shared<int>(7);
  std::weak_ptr<int> watch = held;
  bool ran = false;
  {
    Pair pair;
    DrainedReader reader(pair.socket);
    static char space[64];
    reader.async_read_some(asio::buffer(space), [held = std::move(held), &ran](error_code, std::size_t) { ran = true; });
    settle(pair);
  }
  EXPECT_FALSE(ran);
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace routing::rpc
