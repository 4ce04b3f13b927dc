// routerd and echod as an operator runs them with TLS on both legs (CONTRACT
// §9): a client speaks TLS to routerd, routerd mutual TLS to echod with its
// --upstream-tls-cert; a routerd without that certificate is refused by
// echod; bad TLS flags exit 2 with the reason, before serving.
#include "support/admin_http.h"
#include "support/process.h"
#include "support/sync_client.h"
#include "support/test_certificates.h"

#include <routing/proxy_client.h>

#include <boost/asio/ip/address.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <optional>

namespace routing::test {
namespace {

boost::asio::ip::tcp::endpoint loopback(std::uint16_t port) {
  return {boost::asio::ip::make_address("127.0.0.1"), port};
}

// echod serving TLS only to clients with a certificate from the test CA.
Process start_tls_echod() {
  const auto& certs = test_certificates();
  return Process(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--tls-cert", certs.server.cert, "--tls-key",
                              certs.server.key, "--tls-client-ca", certs.ca});
}

std::vector<std::string> tls_routerd_args(std::uint16_t echod_port) {
  const auto& certs = test_certificates();
  return {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--health-check-interval-ms", "0",
          "--discovery", "static://echo=127.0.0.1:" + std::to_string(echod_port),
          "--tls-cert", certs.server.cert, "--tls-key", certs.server.key, "--tls-ca", certs.ca};
}

// A TLS echod (mutual TLS) behind a TLS routerd; with `upstream_cert`,
// routerd presents the billing certificate to echod.
class TlsLegs {
 public:
  explicit TlsLegs(bool upstream_cert)
      : echod(start_tls_echod()), routerd(ROUTERD_PATH, routerd_args(echod, upstream_cert)) {
    port = routerd.wait_listening();
  }
  Process echod;
  Process routerd;
  std::optional<std::uint16_t> port;  // routerd's

 private:
  static std::vector<std::string> routerd_args(Process& echod, bool upstream_cert) {
    const auto& certs = test_certificates();
    auto args = tls_routerd_args(echod.wait_listening().value_or(0));
    if (upstream_cert) {
      args.insert(args.end(), {"--upstream-tls-cert", certs.billing.cert, "--upstream-tls-key", certs.billing.key});
    }
    return args;
  }
};

TEST(RouterdTls, RoutesOverTlsOnBothLegsWithItsUpstreamCertificate) {
  const auto& certs = test_certificates();
  TlsLegs legs(/*upstream_cert=*/true);
  auto& routerd = legs.routerd;
  auto port = legs.port;
  ASSERT_TRUE(port) << legs.echod.log() << routerd.log();

  SyncClient client(loopback(*port), client_files(certs.ca));
  ASSERT_TRUE(client.connected()) << client.error();
  for (int i = 0; i < 5; ++i) {
    Reply reply = client.call(1, R"({"name":"echo","procedure_id":1,"payload":"secret )" + std::to_string(i) + R"("})");
    EXPECT_EQ(reply.status, Status::ok) << reply.payload;
    EXPECT_EQ(reply.payload, R"({"payload":"secret )" + std::to_string(i) + R"("})");
  }
  ASSERT_TRUE(client.probe_tagged());  // tagged frames over TLS too
  EXPECT_EQ(client.call(1, R"({"name":"echo","procedure_id":1,"payload":"tagged"})").payload,
            R"({"payload":"tagged"})");

  // Six calls, one handshake on each leg: pooled TLS connections are reused.
  auto admin = admin_port_in(routerd.log());
  ASSERT_TRUE(admin) << routerd.log();
  auto samples = metric_samples(admin_get(*admin, "/metrics"));
  EXPECT_EQ(samples["routerd_tls_handshakes_total"], 1);
  EXPECT_EQ(samples["routing_backend_tls_handshakes_total"], 1);
  EXPECT_EQ(samples["routerd_tls_handshake_failures_total"], 0);
}

TEST(RouterdTls, EchodRefusesARouterdWithoutAClientCertificate) {
  const auto& certs = test_certificates();
  TlsLegs legs(/*upstream_cert=*/false);
  auto& echod = legs.echod;
  auto& routerd = legs.routerd;
  auto port = legs.port;
  ASSERT_TRUE(port) << echod.log() << routerd.log();
  SyncClient client(loopback(*port), client_files(certs.ca));
  ASSERT_TRUE(client.connected()) << client.error();
  Reply reply = client.call(1, R"({"name":"echo","procedure_id":1,"payload":"x"})");
  EXPECT_EQ(reply.status, Status::unavailable) << reply.payload;
  EXPECT_TRUE(echod.wait_for_log("TLS handshake\\(s\\) failed")) << echod.log();
}

// TLS 1.3 only: a client that offers at most TLS 1.2 is refused at the handshake.
TEST(RouterdTls, AClientOfferingOnlyTls12IsRefused) {
  const auto& certs = test_certificates();
  Process echod(ECHOD_PATH, {"--listen", "127.0.0.1:0", "--tls-cert", certs.server.cert, "--tls-key", certs.server.key});
  auto port = echod.wait_listening();
  ASSERT_TRUE(port) << echod.log();
  const std::string connect = "-connect 127.0.0.1:" + std::to_string(*port) + " -CAfile " + certs.ca;
  RunResult old = run_program("/bin/sh", {"-c", "openssl s_client -tls1_2 " + connect + " </dev/null"});
  EXPECT_NE(old.exit_code, 0) << old.out;
  RunResult current = run_program("/bin/sh", {"-c", "openssl s_client -tls1_3 " + connect + " </dev/null"});
  EXPECT_EQ(current.exit_code, 0) << current.err;
  EXPECT_NE(current.out.find("TLSv1.3"), std::string::npos) << current.out;
}

TEST(RouterdTls, APlainClientIsRefusedByATlsRouterd) {
  TlsLegs legs(/*upstream_cert=*/false);
  auto& echod = legs.echod;
  auto& routerd = legs.routerd;
  auto port = legs.port;
  ASSERT_TRUE(port) << echod.log() << routerd.log();
  SyncClient plain(loopback(*port), nullptr);  // plain TCP
  ASSERT_TRUE(plain.connected());  // TCP connects; nothing is served
  EXPECT_NE(plain.call(1, R"({"name":"echo","procedure_id":1,"payload":"x"})").status, Status::ok);
  EXPECT_TRUE(routerd.wait_for_log("TLS handshake\\(s\\) failed")) << routerd.log();
}

TEST(RouterdTls, ProxyClientAndRoutectlSpeakTlsToRouterd) {
  const auto& certs = test_certificates();
  TlsLegs legs(/*upstream_cert=*/true);
  auto& routerd = legs.routerd;
  auto port = legs.port;
  ASSERT_TRUE(port) << legs.echod.log() << routerd.log();
  const std::string address = "127.0.0.1:" + std::to_string(*port);

  ProxyClientOptions options;
  options.address = address;
  options.tls.ca_file = certs.ca;
  ProxyClient client(options);
  Reply reply = client.call("echo", 1, "through TLS");
  EXPECT_EQ(reply.status, Status::ok) << reply.payload;
  EXPECT_EQ(reply.payload, "through TLS");
  ProxyClientOptions plain_options;
  plain_options.address = address;
  plain_options.connect_timeout = std::chrono::milliseconds(500);
  ProxyClient plain(plain_options);
  EXPECT_NE(plain.call("echo", 1, "x").status, Status::ok);

  RunResult routectl = run_program(ROUTECTL_PATH, {"call", "echo", "1", "hello", "--proxy", address, "--tls-ca", certs.ca});
  EXPECT_EQ(routectl.exit_code, 0) << routectl.err;
  EXPECT_EQ(routectl.out, "hello\n");
  RunResult stranger = run_program(ROUTECTL_PATH, {"call", "echo", "1", "x", "--proxy", address, "--tls-ca", certs.other_ca});
  EXPECT_NE(stranger.exit_code, 0);
  EXPECT_NE(stranger.err.find("certificate verify failed"), std::string::npos) << stranger.err;
}

// Certificate rotation as an operator does it: new files under the same
// names, then SIGHUP. New handshakes get the new certificate, connections
// made before keep working, and a half-written rotation (a key that does
// not belong to the certificate) changes nothing. Certificates close to
// expiry are warned of and measured.
TEST(RouterdTls, RotatesItsCertificateOnSighupWithoutDroppingConnections) {
  namespace fs = std::filesystem;
  const auto& certs = test_certificates();
  const std::string cert = certs.dir + "/rotating.pem", key = certs.dir + "/rotating.key";
  auto install = [&](const KeyPair& from_cert, const KeyPair& from_key) {
    fs::copy_file(from_cert.cert, cert, fs::copy_options::overwrite_existing);
    fs::copy_file(from_key.key, key, fs::copy_options::overwrite_existing);
  };
  install(certs.server, certs.server);
  Process echod = start_tls_echod();
  auto args = tls_routerd_args(echod.wait_listening().value_or(0));
  args.insert(args.end(), {"--tls-cert", cert, "--tls-key", key,  // the later flags win
                           "--upstream-tls-cert", certs.billing.cert, "--upstream-tls-key", certs.billing.key});
  Process routerd(ROUTERD_PATH, args);
  auto port = routerd.wait_listening();
  auto admin = admin_port_in(routerd.log());
  ASSERT_TRUE(port && admin) << routerd.log();
  const std::string echo = R"({"name":"echo","procedure_id":1,"payload":"x"})";
  SyncClient before(loopback(*port), client_files(certs.ca));
  ASSERT_TRUE(before.connected()) << before.error();
  ASSERT_EQ(before.call(1, echo).status, Status::ok);

  // The test certificates live one day: warned of, and measured.
  EXPECT_TRUE(routerd.wait_for_log("the listener's TLS certificate \\(--tls-cert\\) expires in [01]\\.[0-9] days"))
      << routerd.log();
  auto samples = metric_samples(admin_get(*admin, "/metrics"));
  for (const char* which : {"listener", "upstream"}) {
    double left = samples["routerd_tls_certificate_expiry_seconds{certificate=\"" + std::string(which) + "\"}"];
    EXPECT_GT(left, 3600) << which;
    EXPECT_LE(left, 86400) << which;
  }

  install(certs.wrong_name_server, certs.wrong_name_server);  // now for elsewhere.example
  routerd.signal(SIGHUP);
  ASSERT_TRUE(routerd.wait_for_log("reload \\(SIGHUP\\): applied TLS files \\(read again\\)")) << routerd.log();
  EXPECT_EQ(before.call(1, echo).status, Status::ok) << "a connection made before the rotation stays";
  SyncClient by_address(loopback(*port), client_files(certs.ca));
  EXPECT_FALSE(by_address.connected()) << "the new certificate does not name 127.0.0.1";
  SyncClient by_new_name(loopback(*port), client_files(certs.ca, {}, "elsewhere.example"));
  ASSERT_TRUE(by_new_name.connected()) << by_new_name.error();
  EXPECT_EQ(by_new_name.call(1, echo).status, Status::ok);

  install(certs.server, certs.wrong_name_server);  // half-way: the key of the other certificate
  routerd.signal(SIGHUP);
  ASSERT_TRUE(routerd.wait_for_log("reload \\(SIGHUP\\) failed, nothing changed: .*does not match the certificate"))
      << routerd.log();
  SyncClient still_new(loopback(*port), client_files(certs.ca, {}, "elsewhere.example"));
  EXPECT_TRUE(still_new.connected()) << still_new.error();
  EXPECT_EQ(metric_samples(admin_get(*admin, "/metrics"))["routerd_config_reload_failures_total"], 1);
  fs::remove(cert);
  fs::remove(key);
}

// The admin listeners speak HTTPS with --admin-tls-* (mutual with
// --admin-tls-client-ca): a scraper without the client certificate, or
// speaking plain HTTP, gets nothing.
TEST(RouterdTls, AdminListenersServeHttpsOnlyToVerifiedScrapers) {
  const auto& certs = test_certificates();
  const std::vector<std::string> admin_tls = {"--admin", "127.0.0.1:0", "--admin-tls-cert", certs.server.cert,
                                              "--admin-tls-key", certs.server.key, "--admin-tls-client-ca", certs.ca};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), admin_tls.begin(), admin_tls.end());
    return args;
  };
  Process routerd(ROUTERD_PATH, with({"--listen", "127.0.0.1:0", "--discovery", "static://echo=127.0.0.1:1"}));
  Process discoveryd(DISCOVERYD_PATH, with({"--listen", "127.0.0.1:0"}));
  ASSERT_TRUE(routerd.wait_listening() && discoveryd.wait_listening()) << routerd.log() << discoveryd.log();
  ASSERT_TRUE(routerd.wait_for_log("admin endpoint on https://")) << routerd.log();
  for (auto* process : {&routerd, &discoveryd}) {
    auto admin = admin_port_in(process->log());
    ASSERT_TRUE(admin) << process->log();
    const std::string url = "https://127.0.0.1:" + std::to_string(*admin) + "/metrics";
    RunResult scrape = run_program("/usr/bin/curl", {"-sS", "--cacert", certs.ca, "--cert", certs.billing.cert,
                                                     "--key", certs.billing.key, url});
    EXPECT_EQ(scrape.exit_code, 0) << scrape.err;
    EXPECT_NE(scrape.out.find("_tls_certificate_expiry_seconds{certificate=\"admin\"}"), std::string::npos)
        << scrape.out;
    RunResult anonymous = run_program("/usr/bin/curl", {"-sS", "--cacert", certs.ca, url});
    EXPECT_NE(anonymous.exit_code, 0) << anonymous.out;
    RunResult plain = run_program("/usr/bin/curl", {"-sS", "--max-time", "3",
                                                    "http://127.0.0.1:" + std::to_string(*admin) + "/metrics"});
    EXPECT_EQ(plain.out.find("process_open_fds"), std::string::npos) << plain.out;
    EXPECT_TRUE(process->wait_for_log("admin TLS handshake\\(s\\) failed")) << process->log();
    RunResult again = run_program("/usr/bin/curl", {"-sS", "--cacert", certs.ca, "--cert", certs.billing.cert,
                                                    "--key", certs.billing.key, url});
    EXPECT_NE(again.out.find("_admin_tls_handshake_failures_total 2"), std::string::npos) << again.out;
  }
}

TEST(RouterdTls, BadTlsFlagsExit2WithTheReason) {
  const auto& certs = test_certificates();
  struct Case {
    std::string program;
    std::vector<std::string> args;
    std::string says;
  };
  const std::vector<Case> cases = {
      {ECHOD_PATH, {"--tls-cert", certs.server.cert}, "requires --tls-key"},
      {ECHOD_PATH, {"--tls-cert", certs.server.key, "--tls-key", certs.server.key}, "holds no PEM certificate"},
      {ECHOD_PATH, {"--tls-cert", certs.server.cert, "--tls-key", certs.billing.key}, "does not match"},
      {ECHOD_PATH, {"--tls-client-ca", certs.ca}, "requires --tls-cert"},
      {ROUTERD_PATH, {"--tls-ca", certs.dir + "/absent.pem"}, "cannot read"},
      {ROUTERD_PATH, {"--upstream-tls-cert", certs.billing.cert, "--upstream-tls-key", certs.billing.key},
       "requires --tls-ca"},
      {ROUTERD_PATH, {"--tls-ca", certs.ca, "--upstream-tls-cert", certs.billing.cert, "--upstream-tls-key",
                      certs.cn_only.key}, "does not match"},
      {ROUTERD_PATH, {"--admin-tls-cert", certs.server.cert}, "requires --admin-tls-key"},
      {ROUTERD_PATH, {"--admin-tls-cert", certs.server.cert, "--admin-tls-key", certs.billing.key}, "does not match"},
      {DISCOVERYD_PATH, {"--admin-tls-cert", certs.server.cert, "--admin-tls-key", certs.billing.key},
       "does not match"},
  };
  for (const auto& c : cases) {
    RunResult result = run_program(c.program, c.args);
    EXPECT_EQ(result.exit_code, 2) << c.program << " " << c.args.front() << ": " << result.err;
    EXPECT_NE(result.err.find(c.says), std::string::npos) << c.says << " not in: " << result.err;
  }
}

}  // namespace
}  // namespace routing::test
