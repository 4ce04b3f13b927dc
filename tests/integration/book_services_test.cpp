// The book's services behind our router (CONTRACT §12): backends of book
// systems are spoken to in the book's transport, found through the book's
// discovery (book://) or named with --book-systems, with our balancing,
// resending and deadlines; routerd stands in for the book's routing service.
// The book's programs are stand-ins written from their sources
// (support/book_services.h).
#include <routing/router.h>

#include "support/book_client.h"
#include "support/book_services.h"
#include "support/eventually.h"
#include "support/process.h"

#include <gtest/gtest.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <optional>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

const std::string hello_route = R"({name: "echo",procedure_id: 1,payload: "{message\: \"Hello RPC!\"}"})";

TEST(BookServices, RouterdReplacesTheBooksRoutingService) {
  // The book's discovery with two of its echo servers registered (as they
  // register themselves), and routerd in place of the book's routing.
  BookDiscoveryService discovery{60s};  // registered once: they must outlast the test
  BookEcho first, second;
  for (auto* echo : {&first, &second}) {
    ASSERT_EQ(book_call(discovery.port(), 1,
                        R"({name: "echo",address: "127.0.0.1\:)" + std::to_string(echo->port()) + "\"}"),
              "OK");
  }
  Process routerd(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--health-check-interval-ms",
                                 "100", "--discovery", "book://" + discovery.address()});
  auto port = routerd.wait_listening();
  ASSERT_TRUE(port) << routerd.log();
  for (int i = 0; i < 6; ++i) EXPECT_EQ(book_call(*port, 1, hello_route), "Hello RPC!");
  EXPECT_EQ(first.requests(), 3u);  // round-robin over both
  EXPECT_EQ(second.requests(), 3u);
  // Its words for an unknown procedure come back as they are.
  EXPECT_EQ(book_call(*port, 1, R"({name: "echo",procedure_id: 9,payload: "x"})"), "Unknown procedure");
  // Health checks (TCP only: the book's servers have no ping) keep them in:
  // pinged, each would fail (500 ms without an answer we can read) and two
  // failures take a backend out.
  std::this_thread::sleep_for(3000ms);
  EXPECT_EQ(book_call(*port, 1, hello_route), "Hello RPC!");
  EXPECT_EQ(routerd.log().find("taken out"), std::string::npos) << routerd.log();
}

TEST(BookServices, ACallThatCannotReachOneBookServerGoesToTheNext) {
  BookEcho live;
  // A port bound and not listening: connects are refused, and no one else
  // can take it meanwhile.
  const int reserved = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(reserved, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
  socklen_t length = sizeof at;
  ::getsockname(reserved, reinterpret_cast<sockaddr*>(&at), &length);
  const std::string dead_address = "127.0.0.1:" + std::to_string(ntohs(at.sin_port));
  Process routerd(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--health-check-interval-ms",
                                 "0", "--book-systems", "echo", "--discovery",
                                 "static://echo=" + dead_address + "," + live.address()});
  auto port = routerd.wait_listening();
  ASSERT_TRUE(port) << routerd.log();
  for (int i = 0; i < 4; ++i) EXPECT_EQ(book_call(*port, 1, hello_route), "Hello RPC!");
  EXPECT_EQ(live.requests(), 4u);
  ::close(reserved);
}

TEST(BookServices, TheLibraryCallsBookSystemsAndTheRestInItsOwnProtocol) {
  BookEcho echo;
  RouterOptions options;
  options.discovery = "static://echo=" + echo.address() + ";mine=" + echo.address();
  options.book_systems = {"echo"};
  options.health_check_interval = 0ms;
  Router router(options);
  Reply blocking = router.call("echo", 1, R"({message: "blocking"})");
  EXPECT_EQ(blocking.status, Status::ok);
  EXPECT_EQ(blocking.payload, "blocking");
  Reply unknown = router.call("echo", 7, "{}");
  EXPECT_EQ(unknown.status, Status::unimplemented);
  EXPECT_EQ(unknown.payload, "Unknown procedure");
  // A system not named is spoken to in our protocol (which the book's server
  // cannot answer in: the call fails rather than hangs).
  Reply ours = router.call("mine", 1, R"({message: "x"})", CallOptions{.timeout = 500ms});
  EXPECT_NE(ours.status, Status::ok);
}

TEST(BookServices, OurServersRegisterInTheBooksDiscovery) {
  BookDiscoveryService discovery;
  Process echod(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--discovery", "book://" + discovery.address()});
  auto echod_port = echod.wait_listening();
  ASSERT_TRUE(echod_port) << echod.log();
  Process routerd(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--register-as", "routing",
                                 "--discovery", "book://" + discovery.address()});
  auto routerd_port = routerd.wait_listening();
  ASSERT_TRUE(routerd_port) << routerd.log();
  // Where the book's clients look for them (its discovery's LIST, QUERY).
  EXPECT_TRUE(eventually([&] {
    return discovery.listed("echo") == std::vector<std::string>{"127.0.0.1:" + std::to_string(*echod_port)};
  }));
  EXPECT_TRUE(eventually([&] {
    return discovery.listed("routing") == std::vector<std::string>{"127.0.0.1:" + std::to_string(*routerd_port)};
  }));
  EXPECT_EQ(book_call(discovery.port(), 2, R"({name: "routing"})"),
            R"({address: "127.0.0.1\:)" + std::to_string(*routerd_port) + "\"}");
}

}  // namespace
}  // namespace routing::test
