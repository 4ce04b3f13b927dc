// asio_internals: the private fields it reaches hold what their names say,
// in this Asio (what to rerun before widening ROUTING_ASIO_INTERNALS).
#include "rpc/asio_internals.h"

#include <boost/asio/detail/scheduler.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <gtest/gtest.h>

#include <string>

#include <sys/epoll.h>

namespace routing::rpc {
namespace {

using asio::ip::tcp;
namespace ad = boost::asio::detail;

#if ROUTING_ASIO_INTERNALS  // elsewhere there are no fields to check

// A connected loopback pair; `socket`'s record is the one looked at.
class AsioInternalsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    tcp::acceptor acceptor(loop, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
    peer.connect(acceptor.local_endpoint());
    acceptor.accept(socket);
  }
  // Lets the loop take epoll's report of what is ready now (with no work
  // outstanding, poll would return before asking epoll).
  void settle() {
    auto keep = asio::make_work_guard(loop);
    loop.restart();
    loop.poll();
  }
  std::uint32_t registered() { return asio_internals::registered_events(record()); }
  std::uint32_t last_reported() { return asio_internals::last_reported_events(record()); }
  ad::reactor::per_descriptor_data record() { return asio_internals::socket_implementation(socket).reactor_data_; }

  asio::io_context loop;
  tcp::socket socket{loop};
  tcp::socket peer{loop};
};

TEST_F(AsioInternalsTest, TheSocketsImplementationIsItsDescriptorAndRecord) {
  auto& impl = asio_internals::socket_implementation(socket);
  EXPECT_EQ(impl.socket_, socket.native_handle());
  EXPECT_NE(impl.reactor_data_, nullptr);
}

TEST_F(AsioInternalsTest, TheRecordShowsTheRegistrationAndEpollsLastReport) {
  EXPECT_NE(registered() & EPOLLIN, 0u) << "Asio registers a socket for reading when it opens it";
  EXPECT_EQ(registered() & EPOLLRDHUP, 0u);
  asio::write(peer, asio::buffer(std::string("x")));
  settle();
  EXPECT_NE(last_reported() & EPOLLIN, 0u);
}

TEST_F(AsioInternalsTest, AddedEventsAreRecordedAndWatchedByEpoll) {
  auto& reactor = asio::use_service<ad::reactor>(loop);
  ASSERT_TRUE(asio_internals::add_registered_events(reactor, socket.native_handle(), record(), EPOLLRDHUP));
  EXPECT_NE(registered() & EPOLLRDHUP, 0u);
  EXPECT_NE(registered() & EPOLLIN, 0u) << "what was registered stays";
  peer.shutdown(tcp::socket::shutdown_send);
  settle();
  EXPECT_NE(last_reported() & EPOLLRDHUP, 0u) << "epoll reports RDHUP only if it watches for it";
}

TEST_F(AsioInternalsTest, EventsEpollRefusesLeaveTheRecordAsItWas) {
  auto& reactor = asio::use_service<ad::reactor>(loop);
  std::uint32_t before = registered();
  EXPECT_FALSE(asio_internals::add_registered_events(reactor, /*descriptor=*/-1, record(), EPOLLRDHUP));
  EXPECT_EQ(registered(), before);
}

#endif  // ROUTING_ASIO_INTERNALS

TEST(AsioInternals, MoreReadyHandlersSeesHandlersButNotTheEpollWait) {
  asio::io_context loop{single_thread_loop};
  asio::steady_timer reactor_user{loop};  // the loop's queue then carries the epoll wait's marker
  auto& scheduler = asio::use_service<ad::scheduler>(loop);
  bool alone = true;
  bool with_another = false;
  asio::post(loop, [&] { alone = asio_internals::more_ready_handlers(scheduler); });
  loop.poll();
  loop.restart();
  asio::post(loop, [&] { with_another = asio_internals::more_ready_handlers(scheduler); });
  asio::post(loop, [] {});
  loop.poll();
  EXPECT_EQ(alone, !asio_internals::available) << "true when it cannot tell";
  EXPECT_TRUE(with_another);
}

}  // namespace
}  // namespace routing::rpc
