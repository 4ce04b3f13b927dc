// routerd in place of the book's routing service (CONTRACT §12): the book's
// client (support/book_client.h, byte for byte its rpc client) sends the
// book's ROUTE and SET_STRATEGY on routerd's usual port and reads the bare
// answers it expects; routerd's own JSON clients are served as before.
#include <routing/proxy_client.h>

#include "book/normalization.h"
#include "echo/echo_service.h"
#include "rpc/server.h"
#include "support/book_client.h"
#include "support/eventually.h"
#include "support/process.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include <unistd.h>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

class RouterdBook : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(port_) << routerd_.log(); }
  std::optional<std::string> book(int procedure, const std::string& payload) {
    return book_call(*port_, procedure, payload);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(*port_); }

  std::unique_ptr<rpc::Server> backend_ = [] {
    auto server = std::make_unique<rpc::Server>(rpc::ServerOptions{});
    echo::register_echo_service(*server);
    server->start();
    return server;
  }();
  std::string access_log_ = ::testing::TempDir() + "routerd_book_access_" + std::to_string(::getpid()) + ".log";
  Process routerd_{ROUTERD_PATH,
                   {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--request-timeout-ms", "300",
                    "--access-log", access_log_, "--discovery",
                    "static://echo=127.0.0.1:" + std::to_string(backend_->local_endpoint().port())}};
  std::optional<std::uint16_t> port_ = routerd_.wait_listening();
};

TEST_F(RouterdBook, TheBooksClientRoutesThroughRouterdAndReadsTheBareAnswer) {
  EXPECT_EQ(book(1, R"({name: "echo",procedure_id: 1,payload: "Hello RPC!"})"), "Hello RPC!");
  // From the book: a struct sent as the payload string, escaped; the backend
  // gets it unescaped.
  EXPECT_EQ(book(1, R"({name: "echo",procedure_id: 1,payload: "{message\: \"Hello RPC!\"}"})"),
            R"({message: "Hello RPC!"})");
  // routerd's own clients are served as before.
  ProxyClient proxy(address());
  Reply json = proxy.call("echo", 1, "{name: not the book's}");
  EXPECT_EQ(json.status, Status::ok);
  EXPECT_EQ(json.payload, "{name: not the book's}");
  // Book calls are logged as any call (by the log's own thread).
  std::string lines;
  EXPECT_TRUE(eventually([&] {
    std::ifstream log(access_log_);
    std::stringstream read;
    read << log.rdbuf();
    lines = read.str();
    return lines.find(R"("system":"echo")") != std::string::npos;
  })) << lines;
}

TEST_F(RouterdBook, TheBooksEscapesAreReadAsTheBookWroteThem) {
  // Backslashes, quotes, colons and commas, in a struct nested as the
  // payload string (escaped twice): the backend gets the inner struct as
  // the book's writer wrote it. The book's transport has no escaping of its
  // own, so the line protocol's (\\, \n) must not be applied to it.
  const std::string inner =
      book::Writer().string("message", R"(C:\new say "hi", a\nb \\ end\)").finish();
  const std::string route = book::Writer().string("name", "echo").integer("procedure_id", 1).string("payload", inner).finish();
  EXPECT_EQ(book(1, route), inner);
}

TEST_F(RouterdBook, BothFormsShareOneConnection) {
  RawSocket socket(*port_);
  socket.send("1:{name: \"echo\",procedure_id: 1,payload: \"book\"}\n");
  EXPECT_EQ(socket.read_once(1024), "book");  // bare: no status, no line end
  socket.send("1:{\"name\":\"echo\",\"procedure_id\":1,\"payload\":\"json\"}\n");
  EXPECT_EQ(socket.read_line(), R"(0:{"payload":"json"})");
}

TEST_F(RouterdBook, FailuresAreThePlainWordsTheBooksClientsKnow) {
  EXPECT_EQ(book(1, R"({name: "nothing",procedure_id: 1,payload: "x"})"), "Service not available");
  EXPECT_EQ(book(1, R"({name: "echo",procedure_id: 99,payload: "x"})"), "Unknown procedure");
  // SLOW_ECHO of 2 s against routerd's 300 ms deadline ("2000:x", its `:` escaped).
  EXPECT_EQ(book(1, R"({name: "echo",procedure_id: 2,payload: "2000\:x"})"), "Operation timed out");
  EXPECT_EQ(book(1, R"({name: "echo",procedure_id: 1})"), "invalid request: missing field 'payload'");
  // Not even a struct: nothing says a book client sent it, routerd's own answer.
  EXPECT_EQ(book(1, R"({name: "echo",procedure_id: 1,payload: "x})")->substr(0, 2), "3:");
  // Still serving.
  EXPECT_EQ(book(1, R"({name: "echo",procedure_id: 1,payload: "after"})"), "after");
}

TEST_F(RouterdBook, SetStrategyAnswersOkAndChangesEveryStrategy) {
  EXPECT_EQ(book(1, R"({name: "echo",procedure_id: 1,payload: "x"})"), "x");  // the system exists
  EXPECT_EQ(book(2, R"({strategy: "pick-2"})"), "OK");
  ProxyClient proxy(address());
  Reply status = proxy.status();
  ASSERT_EQ(status.status, Status::ok) << status.payload;
  EXPECT_NE(status.payload.find(R"("strategy":"pick-2")"), std::string::npos) << status.payload;
  EXPECT_EQ(book(2, R"({strategy: "fastest"})"),
            "unknown strategy 'fastest' (round-robin, random, least-connections, pick-2, peak-ewma)");
  EXPECT_EQ(book(2, R"({name: "x"})"), "invalid request: missing field 'strategy'");
}

}  // namespace
}  // namespace routing::test
