// TLS on rpc::Server and rpc::ClientConnection (CONTRACT §9): calls over
// TLS 1.3, the server verified by CA and name, mutual TLS and the client's
// identity, and what is refused before any procedure runs (plain TCP,
// garbage, a stalled handshake, unverified certificates) without disturbing
// other connections.
#include "rpc/client_connection.h"
#include "rpc/tls/tls_session.h"
#include "support/raw_socket.h"
#include "support/eventually.h"
#include "support/sync_client.h"
#include "support/test_certificates.h"
#include "support/test_server.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <gtest/gtest.h>
#include <openssl/pem.h>

#include <cstdio>
#include <thread>

namespace routing::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

constexpr std::uint32_t identity_procedure = 60;

// A TLS echo server (mutual TLS with `client_ca`) that also answers 60 with
// the caller's identity.
std::unique_ptr<rpc::Server> tls_server(const KeyPair& pair, std::string client_ca = {},
                                        std::chrono::milliseconds handshake_timeout = 10s) {
  rpc::ServerOptions options;
  options.tls = {pair.cert, pair.key, std::move(client_ca)};
  options.tls_handshake_timeout = handshake_timeout;
  auto server = std::make_unique<rpc::Server>(options);
  echo::register_echo_service(*server);
  server->handle(identity_procedure, [](std::string, rpc::CallContext& call) -> asio::awaitable<Reply> {
    co_return Reply::success(call.connection.identity.empty() ? "(none)" : call.connection.identity);
  });
  server->start();
  return server;
}

TEST(Tls, ServesCallsOverTls13) {
  const auto& certs = test_certificates();
  auto server = tls_server(certs.server);
  SyncClient client(server->local_endpoint(), client_files(certs.ca));
  ASSERT_TRUE(client.connected()) << client.error();
  EXPECT_TRUE(client.connection().uses_tls());
  Reply reply = client.call(1, "over tls");
  EXPECT_EQ(reply.status, Status::ok);
  EXPECT_EQ(reply.payload, "over tls");
  // Big enough to take many records and partial writes both ways.
  std::string big(600 * 1024, 'x');
  for (std::size_t i = 0; i < big.size(); i += 7) big[i] = static_cast<char>('a' + i % 26);
  Reply echoed = client.call(1, big);
  EXPECT_EQ(echoed.status, Status::ok);
  EXPECT_EQ(echoed.payload, big);
  EXPECT_EQ(client.call(identity_procedure, "").payload, "(none)");  // no client certificate asked for
  EXPECT_EQ(server->stats().tls_handshakes_total, 1u);
  EXPECT_EQ(server->stats().tls_handshake_failures_total, 0u);
}

TEST(Tls, TaggedCallsShareATlsConnection) {
  const auto& certs = test_certificates();
  auto server = tls_server(certs.server);
  SyncClient client(server->local_endpoint(), client_files(certs.ca));
  ASSERT_TRUE(client.connected()) << client.error();
  ASSERT_TRUE(client.probe_tagged());
  for (int i = 0; i < 20; ++i) EXPECT_EQ(client.call(1, "n" + std::to_string(i)).payload, "n" + std::to_string(i));
  EXPECT_EQ(server->stats().tls_handshakes_total, 1u);  // every call on the one session
}

// A reconnect offers the session the server gave the last connection (a
// TLS 1.3 ticket, kept by the client context per server): no certificate
// exchange, and the server counts it as resumed.
TEST(Tls, AReconnectResumesTheLastSession) {
  const auto& certs = test_certificates();
  auto server = tls_server(certs.server);
  auto context = rpc::tls::Context::client(client_files(certs.ca));
  auto connect_and_call = [&] {
    SyncClient client(server->local_endpoint(), context);
    EXPECT_TRUE(client.connected()) << client.error();
    EXPECT_EQ(client.call(1, "hi").payload, "hi");  // the ticket arrives after the handshake: read it
    return client.connection().resumed_tls_session();
  };
  EXPECT_FALSE(connect_and_call());
  EXPECT_TRUE(connect_and_call());
  EXPECT_TRUE(connect_and_call());
  EXPECT_EQ(server->stats().tls_handshakes_total, 3u);
  EXPECT_EQ(server->stats().tls_resumed_total, 2u);
  // Another client context has no session to offer.
  SyncClient fresh(server->local_endpoint(), client_files(certs.ca));
  EXPECT_TRUE(fresh.connected());
  EXPECT_FALSE(fresh.connection().resumed_tls_session());
}

TEST(Tls, AServerIsVerifiedByItsCaAndItsName) {
  const auto& certs = test_certificates();
  auto server = tls_server(certs.server);
  SyncClient stranger_ca(server->local_endpoint(), client_files(certs.other_ca));
  EXPECT_FALSE(stranger_ca.connected());
  EXPECT_NE(stranger_ca.error().find("certificate verify failed"), std::string::npos) << stranger_ca.error();

  SyncClient by_hostname(server->local_endpoint(), client_files(certs.ca), "localhost");  // also in its certificate
  EXPECT_TRUE(by_hostname.connected()) << by_hostname.error();

  auto misnamed = tls_server(certs.wrong_name_server);
  SyncClient wrong_name(misnamed->local_endpoint(), client_files(certs.ca));
  EXPECT_FALSE(wrong_name.connected());
  EXPECT_NE(wrong_name.error().find("certificate verify failed"), std::string::npos) << wrong_name.error();
  SyncClient named(misnamed->local_endpoint(), client_files(certs.ca, {}, "elsewhere.example"));  // --tls-server-name
  EXPECT_TRUE(named.connected()) << named.error();
  EXPECT_EQ(named.call(1, "ok").payload, "ok");
}

TEST(Tls, MutualTlsRequiresAClientCertificateSignedByTheClientCa) {
  const auto& certs = test_certificates();
  auto server = tls_server(certs.server, certs.ca);
  // TLS 1.3: the client finishes its side first and learns of the refusal
  // at its first read; the call must fail and nothing must run.
  SyncClient anonymous(server->local_endpoint(), client_files(certs.ca));
  if (anonymous.connected()) EXPECT_NE(anonymous.call(identity_procedure, "").status, Status::ok);
  SyncClient stranger(server->local_endpoint(), client_files(certs.ca, certs.stranger));
  if (stranger.connected()) EXPECT_NE(stranger.call(identity_procedure, "").status, Status::ok);

  SyncClient billing(server->local_endpoint(), client_files(certs.ca, certs.billing));
  ASSERT_TRUE(billing.connected()) << billing.error();
  Reply who = billing.call(identity_procedure, "");
  EXPECT_EQ(who.status, Status::ok);
  EXPECT_EQ(who.payload, "spiffe://example/billing");
  EXPECT_EQ(server->stats().tls_handshakes_total, 1u);
  EXPECT_GE(server->stats().tls_handshake_failures_total, 2u);
}

// Expired certificates are refused at the handshake, on either side: a
// client's by a mutual-TLS server (with the identity billing would have),
// a server's by its clients.
TEST(Tls, ExpiredCertificatesAreRefusedAtTheHandshake) {
  const auto& certs = test_certificates();
  auto server = tls_server(certs.server, certs.ca);
  SyncClient expired_client(server->local_endpoint(), client_files(certs.ca, certs.expired_client));
  if (expired_client.connected()) EXPECT_NE(expired_client.call(identity_procedure, "").status, Status::ok);
  EXPECT_EQ(server->stats().tls_handshakes_total, 0u);
  EXPECT_TRUE(eventually([&] { return server->stats().tls_handshake_failures_total >= 1; }));

  auto expired = tls_server(certs.expired_server);
  SyncClient client(expired->local_endpoint(), client_files(certs.ca));
  EXPECT_FALSE(client.connected());
  EXPECT_NE(client.error().find("certificate has expired"), std::string::npos) << client.error();
}

TEST(Tls, IdentityIsTheFirstUriSanElseTheFirstDnsSanElseTheCommonName) {
  const auto& certs = test_certificates();
  auto identity = [](const std::string& path) {
    std::FILE* file = std::fopen(path.c_str(), "r");
    if (file == nullptr) return std::string("(unreadable)");
    X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
    std::fclose(file);
    std::string out = rpc::tls::identity_of(cert);
    X509_free(cert);
    return out;
  };
  EXPECT_EQ(identity(certs.billing.cert), "spiffe://example/billing");
  EXPECT_EQ(identity(certs.dns_only.cert), "ledger.example");
  EXPECT_EQ(identity(certs.cn_only.cert), "plain-cn");

  auto server = tls_server(certs.server, certs.ca);
  SyncClient ledger(server->local_endpoint(), client_files(certs.ca, certs.dns_only));
  EXPECT_EQ(ledger.call(identity_procedure, "").payload, "ledger.example");
}

// Plain TCP and garbage are refused before any procedure runs, and a
// TLS client connected meanwhile is not disturbed.
TEST(Tls, PlainTcpAndGarbageAreRefusedAtTheHandshake) {
  const auto& certs = test_certificates();
  auto server = tls_server(certs.server);
  SyncClient good(server->local_endpoint(), client_files(certs.ca));
  ASSERT_TRUE(good.connected()) << good.error();

  RawSocket plain(server->local_endpoint().port(), 3s);
  plain.send("1:hello\n");
  EXPECT_TRUE(plain.wait_closed());
  RawSocket garbage(server->local_endpoint().port(), 3s);
  garbage.send(std::string("\x16\x03\x01\x00\x05\xff\xff\xff\xff\xff garbage that is no ClientHello\n", 40));
  EXPECT_TRUE(garbage.wait_closed());

  EXPECT_EQ(good.call(1, "still here").payload, "still here");
  EXPECT_GE(server->stats().tls_handshake_failures_total, 2u);
}

TEST(Tls, AClientThatStallsMidHandshakeIsLetGoAtTheTimeout) {
  const auto& certs = test_certificates();
  auto server = tls_server(certs.server, {}, 300ms);
  RawSocket silent(server->local_endpoint().port(), 5s);
  const auto start = Clock::now();
  EXPECT_TRUE(silent.wait_closed());
  EXPECT_GE(Clock::now() - start, 250ms);  // not before the timeout (an order, not a speed)
  EXPECT_EQ(server->stats().tls_handshake_failures_total, 1u);
  EXPECT_EQ(server->stats().open_connections, 0u);
}

}  // namespace
}  // namespace routing::test
