// routerd's answers stay within the frame limit its clients read with
// (proxy/route_answer.h): a backend answer that JSON escaping would grow past
// it comes back as payload_base64, through ProxyClient and routectl, intact;
// one that fits no form gets status 8 and the connection stays usable.
#include <routing/proxy_client.h>

#include "echo/echo_service.h"
#include "rpc/server.h"
#include "support/process.h"
#include "support/raw_socket.h"

#include <gtest/gtest.h>

#include <charconv>
#include <regex>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

constexpr std::uint32_t control_bytes_procedure = 7;

// A backend with the echo procedures, and procedure 7 answering as many 0x01
// bytes as its payload says: a small request, a large answer that grows
// 7-fold once JSON-escaped (it crosses the backend's line unescaped).
std::unique_ptr<rpc::Server> start_backend() {
  auto server = std::make_unique<rpc::Server>(rpc::ServerOptions{});
  echo::register_echo_service(*server);
  server->handle(control_bytes_procedure,
                 [](std::string payload, rpc::CallContext&) -> boost::asio::awaitable<Reply> {
                   std::size_t count = 0;
                   std::from_chars(payload.data(), payload.data() + payload.size(), count);
                   co_return Reply::success(std::string(count, '\x01'));
                 });
  server->start();
  return server;
}

class RouterdAnswers : public ::testing::Test {
 protected:
  void SetUp() override {
    ASSERT_TRUE(port_) << routerd_.log();
    std::smatch match;
    std::string log = routerd_.log();
    ASSERT_TRUE(std::regex_search(log, match, std::regex(R"(admin endpoint on http://[^ \n]*:(\d+))"))) << log;
    admin_port_ = static_cast<std::uint16_t>(std::stoi(match[1]));
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(*port_); }
  std::string metrics() {
    RawSocket http(admin_port_);
    http.send("GET /metrics HTTP/1.0\r\n\r\n");
    return http.read_all();
  }

  std::unique_ptr<rpc::Server> backend_ = start_backend();
  Process routerd_{ROUTERD_PATH,
                   {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery",
                    "static://big=127.0.0.1:" + std::to_string(backend_->local_endpoint().port())}};
  std::optional<std::uint16_t> port_ = routerd_.wait_listening();
  std::uint16_t admin_port_ = 0;
};

// 700 000 control bytes: 4.9 MB as JSON text on the line, 933 KB as base64,
// under the default 1 MiB frame.
const std::string fits_as_base64(700'000, '\x01');

TEST_F(RouterdAnswers, AnAnswerThatEscapingWouldGrowPastTheFrameComesBackIntact) {
  ProxyClient proxy(address());
  Reply answer = proxy.call("big", control_bytes_procedure, std::to_string(fits_as_base64.size()));
  ASSERT_EQ(answer.status, Status::ok) << answer.payload.substr(0, 200);
  EXPECT_TRUE(answer.payload == fits_as_base64);
  Reply echoed = proxy.call("big", 1, fits_as_base64);  // sent as base64 too, both ways
  ASSERT_EQ(echoed.status, Status::ok) << echoed.payload.substr(0, 200);
  EXPECT_TRUE(echoed.payload == fits_as_base64);

  auto printed = run_program(ROUTECTL_PATH, {"call", "big", std::to_string(control_bytes_procedure),
                                             std::to_string(fits_as_base64.size()), "--proxy", address()});
  EXPECT_EQ(printed.exit_code, 0) << printed.err;
  EXPECT_TRUE(printed.out == fits_as_base64 + "\n") << printed.out.size() << " bytes printed";
  EXPECT_NE(metrics().find("routerd_answers_base64_to_fit_total 3"), std::string::npos);
}

// 900 000 control bytes fit no form (1.2 MB as base64): 8 with a clear
// error, and the connection answers the next call.
TEST_F(RouterdAnswers, AnAnswerThatFitsNoFormGetsAClearErrorAndTheConnectionStaysUsable) {
  RawSocket raw(*port_);
  raw.send(R"(1:{"name":"big","procedure_id":7,"payload":"900000"})" "\n");
  auto line = raw.read_line();
  ASSERT_TRUE(line);
  EXPECT_EQ(line->size() < 300 ? *line : "(a line of " + std::to_string(line->size()) + " bytes)",
            R"(8:{"error":"the backend's answer (900000 bytes) does not fit in a frame of )"
            R"(1048576 bytes, neither as JSON text nor as base64"})");
  raw.send(R"(1:{"name":"big","procedure_id":1,"payload":"still here"})" "\n");
  EXPECT_EQ(raw.read_line(), R"(0:{"payload":"still here"})");

  ProxyClient proxy(address());
  Reply refused = proxy.call("big", control_bytes_procedure, "900000");
  EXPECT_EQ(refused.status, Status::resource_exhausted);
  EXPECT_NE(refused.payload.find("does not fit in a frame"), std::string::npos) << refused.payload.substr(0, 200);
  EXPECT_TRUE(proxy.call("big", 1, "x").ok());

  auto printed = run_program(ROUTECTL_PATH, {"call", "big", "7", "900000", "--proxy", address()});
  EXPECT_EQ(printed.exit_code, 1);
  EXPECT_NE(printed.err.find("does not fit in a frame"), std::string::npos) << printed.err.substr(0, 200);
  EXPECT_NE(metrics().find("routerd_answers_too_large_total 3"), std::string::npos);
}

}  // namespace
}  // namespace routing::test
