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

// A loopback pair, its reader, and the outcome of the last read started.
class DrainedReaderTest : public ::testing::Test {
 protected:
  void start_read(std::size_t size = sizeof space) {
    reader.async_read_some(asio::buffer(space, size), result.handler());
  }
  bool done() { return run_until_done(pair, result); }
  std::string received() const { return std::string(space, result.bytes); }

  Pair pair;
  DrainedReader reader{pair.socket};
  char space[64];
  Result result;
};

TEST_F(DrainedReaderTest, AfterAShortReadTheNextReadWaitsForEpollInsteadOfTrying) {
  if (!DrainedReader::skips_empty_tries) GTEST_SKIP() << "not with this Asio: reads are Asio's own";
  start_read();
  settle(pair);
  EXPECT_FALSE(result.ec) << "nothing sent yet";
  EXPECT_EQ(reader.attempts(), 1u) << "a new socket is tried at once, as with Asio";

  pair.send("abc");
  ASSERT_TRUE(done());
  EXPECT_EQ(*result.ec, error_code());
  EXPECT_EQ(received(), "abc");
  EXPECT_EQ(reader.attempts(), 2u);

  // 3 of 64 bytes: the socket is empty. Asio's own read would try recv now.
  start_read();
  settle(pair);
  EXPECT_FALSE(result.ec);
  EXPECT_EQ(reader.attempts(), 2u) << "a recv that could only find nothing";

  pair.send("de");
  ASSERT_TRUE(done());
  EXPECT_EQ(received(), "de");
  EXPECT_EQ(reader.attempts(), 3u);
}

TEST_F(DrainedReaderTest, BytesArrivingWhileNoReadIsPendingAreReadAtTheNextStart) {
  start_read();
  pair.send("first");
  ASSERT_TRUE(done());
  EXPECT_EQ(received(), "first");

  // The event for these bytes is handled while no read is pending.
  pair.send("second");
  settle(pair);
  start_read();
  ASSERT_TRUE(done()) << "the readiness was lost: the read would wait forever";
  EXPECT_EQ(received(), "second");
}

TEST_F(DrainedReaderTest, AReadThatFillsItsSpaceTriesAgainAtOnce) {
  start_read(4);
  pair.send("0123456789");
  ASSERT_TRUE(done());
  EXPECT_EQ(received(), "0123");
  settle(pair);  // no event is left: the rest must come from the read's own try

  start_read(4);
  ASSERT_TRUE(done());
  EXPECT_EQ(received(), "4567");
  start_read(4);
  ASSERT_TRUE(done());
  EXPECT_EQ(received(), "89");
}

TEST_F(DrainedReaderTest, ThePeerClosingAfterAShortReadIsSeenAsEndOfFile) {
  start_read();
  pair.send("last words");
  ASSERT_TRUE(done());
  start_read();
  settle(pair);
  pair.peer.close();
  ASSERT_TRUE(done());
  EXPECT_EQ(*result.ec, asio::error::eof);
  EXPECT_EQ(result.bytes, 0u);
}

// recv takes the FIN together with the bytes before it; if epoll reported
// both at once, no later event comes: the read after them must still try.
TEST_F(DrainedReaderTest, BytesAndTheFinReportedTogetherStillEndInEndOfFile) {
  start_read();
  settle(pair);
  pair.send("bye");
  pair.peer.shutdown(tcp::socket::shutdown_send);
  ASSERT_TRUE(done());
  EXPECT_EQ(received(), "bye");
  start_read();
  ASSERT_TRUE(done()) << "the end of file was lost";
  EXPECT_EQ(*result.ec, asio::error::eof);
}

TEST_F(DrainedReaderTest, BytesAndTheFinReportedWhileNoReadIsPendingStillEndInEndOfFile) {
  start_read();
  pair.send("hello");
  ASSERT_TRUE(done());
  pair.send("bye");
  pair.peer.shutdown(tcp::socket::shutdown_send);
  settle(pair);  // epoll reports the bytes and the FIN; no read is pending
  start_read();
  ASSERT_TRUE(done());
  EXPECT_EQ(received(), "bye");
  start_read();
  ASSERT_TRUE(done()) << "the end of file was lost";
  EXPECT_EQ(*result.ec, asio::error::eof);
}

TEST_F(DrainedReaderTest, ACancellationSignalOrClosingTheSocketAbortsThePendingRead) {
  asio::cancellation_signal cancel;
  reader.async_read_some(asio::buffer(space), asio::bind_cancellation_slot(cancel.slot(), result.handler()));
  settle(pair);
  cancel.emit(asio::cancellation_type::terminal);
  ASSERT_TRUE(done());
  EXPECT_EQ(*result.ec, asio::error::operation_aborted);

  start_read();
  settle(pair);
  pair.socket.close();
  ASSERT_TRUE(done());
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

TEST_F(DrainedReaderTest, TheReadsStateComesFromTheHandlersAllocator) {
  int allocations = 0;
  reader.async_read_some(asio::buffer(space),
                         asio::bind_allocator(CountingAllocator<void>(&allocations), result.handler()));
  pair.send("x");
  ASSERT_TRUE(done());
  EXPECT_EQ(allocations, 1);
}

TEST_F(DrainedReaderTest, ALoopDestroyedFirstDropsThePendingReadsHandlerUnrun) {  // with a loop of its own
  auto held = std::make_shared<int>(7);
  std::weak_ptr<int> watch = held;
  bool ran = false;
  {
    Pair own;
    DrainedReader own_reader(own.socket);
    static char own_space[64];
    own_reader.async_read_some(asio::buffer(own_space),
                               [held = std::move(held), &ran](error_code, std::size_t) { ran = true; });
    settle(own);
  }
  EXPECT_FALSE(ran);
  EXPECT_TRUE(watch.expired());
}

}  // namespace
}  // namespace routing::rpc
