// routing::Router with TLS to its backends (RouterOptions::tls, CONTRACT §9):
// async and blocking calls over verified TLS, pooled TLS connections reused
// (one handshake for many calls), health checks over TLS, a backend that
// fails verification refused with a clear reason, bad files refused at
// construction.
#include <routing/router.h>

#include "echo/echo_service.h"
#include "rpc/server.h"
#include "support/test_backend.h"
#include "support/test_certificates.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>
#include <gtest/gtest.h>

namespace routing::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;

constexpr std::uint32_t identity_procedure = 60;

std::unique_ptr<rpc::Server> tls_echo(const KeyPair& pair, std::string client_ca = {}) {
  rpc::ServerOptions options;
  options.tls = {pair.cert, pair.key, std::move(client_ca)};
  auto server = std::make_unique<rpc::Server>(options);
  echo::register_echo_service(*server);
  server->handle(identity_procedure, [](std::string, rpc::CallContext& call) -> asio::awaitable<Reply> {
    co_return Reply::success(call.connection.identity);
  });
  server->start();
  return server;
}

std::string address_of(const rpc::Server& server) {
  return "127.0.0.1:" + std::to_string(server.local_endpoint().port());
}

RouterOptions tls_options(const rpc::Server& server, TlsClientOptions tls) {
  auto options = quiet_options("static://echo=" + address_of(server));
  options.tls = std::move(tls);
  return options;
}

Reply async_call(Router& router, std::string payload) {
  asio::io_context ctx;
  auto future = asio::co_spawn(ctx, router.async_call("echo", 1, std::move(payload)), asio::use_future);
  ctx.run();
  return future.get();
}

// Both entry paths, the default options (tagged frames, pool 10).
class TlsRouter : public ::testing::TestWithParam<bool> {
 protected:
  Reply call(Router& router, const std::string& payload) {
    return GetParam() ? router.call("echo", 1, payload) : async_call(router, payload);
  }
};

TEST_P(TlsRouter, CallsGoOverVerifiedTlsAndReuseTheirConnection) {
  const auto& certs = test_certificates();
  auto backend = tls_echo(certs.server);
  Router router(tls_options(*backend, {.ca_file = certs.ca}));
  for (int i = 0; i < 25; ++i) {
    Reply reply = call(router, "tls " + std::to_string(i));
    ASSERT_EQ(reply.status, Status::ok) << reply.payload;
    EXPECT_EQ(reply.payload, "tls " + std::to_string(i));
  }
  // One call at a time: one pooled connection, one handshake for all 25.
  EXPECT_EQ(backend->stats().tls_handshakes_total, 1u);
  EXPECT_EQ(backend->stats().tls_handshake_failures_total, 0u);
}

TEST_P(TlsRouter, PresentsItsClientCertificateToABackendThatAsks) {
  const auto& certs = test_certificates();
  auto backend = tls_echo(certs.server, certs.ca);
  Router with_cert(tls_options(*backend, {.ca_file = certs.ca, .cert_file = certs.billing.cert,
                                          .key_file = certs.billing.key}));
  EXPECT_EQ(with_cert.call("echo", identity_procedure, "").payload, "spiffe://example/billing");
  Router without(tls_options(*backend, {.ca_file = certs.ca}));
  Reply refused = call(without, "x");
  EXPECT_EQ(refused.status, Status::unavailable) << refused.payload;
  EXPECT_NE(refused.payload.find("TLS: "), std::string::npos) << refused.payload;  // the backend's alert, not a riddle
}

TEST_P(TlsRouter, ABackendThatFailsVerificationGets14WithTheReason) {
  const auto& certs = test_certificates();
  auto misnamed = tls_echo(certs.wrong_name_server);
  Router router(tls_options(*misnamed, {.ca_file = certs.ca}));
  Reply reply = call(router, "x");
  EXPECT_EQ(reply.status, Status::unavailable);
  EXPECT_NE(reply.payload.find("certificate verify failed"), std::string::npos) << reply.payload;

  Router named(tls_options(*misnamed, {.ca_file = certs.ca, .server_name = "elsewhere.example"}));
  EXPECT_EQ(call(named, "named").payload, "named");
}

TEST_P(TlsRouter, APlainRouterCannotTalkToATlsBackend) {
  const auto& certs = test_certificates();
  auto backend = tls_echo(certs.server);
  Router plain(quiet_options("static://echo=" + address_of(*backend)));
  Reply reply = call(plain, "x");
  EXPECT_NE(reply.status, Status::ok);
  EXPECT_GE(backend->stats().tls_handshake_failures_total, 1u);
}

INSTANTIATE_TEST_SUITE_P(EntryPaths, TlsRouter, ::testing::Values(false, true),
                         [](const auto& info) { return info.param ? "Blocking" : "Async"; });

TEST(TlsRouterOptions, FilesThatMakeNoContextAreRefusedAtConstruction) {
  const auto& certs = test_certificates();
  auto options = quiet_options("static://echo=127.0.0.1:1");
  options.tls.ca_file = certs.dir + "/missing.pem";
  EXPECT_THROW(Router{options}, std::invalid_argument);
  options.tls = {.ca_file = certs.ca, .cert_file = certs.billing.cert, .key_file = certs.dns_only.key};
  EXPECT_THROW(Router{options}, std::invalid_argument);  // the key is another certificate's
  options.tls = {.cert_file = certs.billing.cert, .key_file = certs.billing.key};
  EXPECT_THROW(Router{options}, std::invalid_argument);  // a client certificate without a CA
}

TEST(TlsRouterHealth, HealthChecksSpeakTlsToo) {
  const auto& certs = test_certificates();
  auto backend = tls_echo(certs.server);
  auto options = tls_options(*backend, {.ca_file = certs.ca});
  options.health_check_interval = 50ms;
  Router router(options);
  ASSERT_EQ(router.call("echo", 1, "warm").status, Status::ok);
  std::this_thread::sleep_for(400ms);  // several check rounds
  EXPECT_EQ(router.call("echo", 1, "after checks").payload, "after checks");
  EXPECT_EQ(backend->stats().tls_handshake_failures_total, 0u);  // no check spoke plain TCP to it
  auto stats = router.stats();
  for (const auto& system : stats.systems) {
    for (const auto& b : system.backends) EXPECT_TRUE(b.healthy) << b.address;
  }
}

}  // namespace
}  // namespace routing::test
