// --policy on routerd and discoveryd as an operator runs them (CONTRACT §9):
// callers are known by their client certificates; what no rule allows gets
// status 7, is counted per identity and logged; the access log names the
// identity; the file is read again on SIGHUP (a bad one changes nothing)
// without dropping connections.
#include "support/admin_http.h"
#include "support/eventually.h"
#include "support/process.h"
#include "support/sync_client.h"
#include "support/test_certificates.h"

#include <boost/asio/ip/address.hpp>
#include <gtest/gtest.h>

#include <csignal>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

boost::asio::ip::tcp::endpoint loopback(std::uint16_t port) {
  return {boost::asio::ip::make_address("127.0.0.1"), port};
}

std::string route(const std::string& name, const std::string& payload = "x") {
  return R"({"name":")" + name + R"(","procedure_id":1,"payload":")" + payload + R"("})";
}

std::string read_file(const std::string& path) {
  std::ifstream in(path);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// billing (spiffe://example/billing) may route to echo; plain-cn may change
// the router; every verified client may route to "open".
constexpr const char* policy_text = R"(
[[allow]]
identity = "spiffe://example/billing"
systems = ["echo"]

[[allow]]
identity = "plain-cn"
admin = true

[[allow]]
identity = "*"
systems = ["open"]
)";

// A plain echod behind a routerd that asks its clients for certificates.
class PolicyRouterd {
 public:
  explicit PolicyRouterd(const std::string& policy)
      : policy_file(temp_file(policy, ".toml")),
        access_log(temp_file("", ".log")),
        echod(ECHOD_PATH, {"--listen", "127.0.0.1:0"}),
        routerd(ROUTERD_PATH, args(echod.wait_listening().value_or(0), policy_file, access_log)) {
    port = routerd.wait_listening();
    admin = admin_port_in(routerd.log());
  }
  ~PolicyRouterd() {
    std::filesystem::remove(policy_file);
    std::filesystem::remove(access_log);
  }
  std::map<std::string, double> metrics() { return metric_samples(admin_get(admin.value_or(0), "/metrics")); }

  std::string policy_file;
  std::string access_log;
  Process echod;
  Process routerd;
  std::optional<std::uint16_t> port;
  std::optional<std::uint16_t> admin;

 private:
  static std::vector<std::string> args(std::uint16_t echod_port, const std::string& policy,
                                       const std::string& access_log) {
    const auto& certs = test_certificates();
    const std::string echo = "127.0.0.1:" + std::to_string(echod_port);
    return {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--health-check-interval-ms", "0",
            "--discovery", "static://echo=" + echo + ";open=" + echo + ";ledger=" + echo,
            "--tls-cert", certs.server.cert, "--tls-key", certs.server.key, "--tls-client-ca", certs.ca,
            "--policy", policy, "--access-log", access_log};
  }
};

TEST(RouterdPolicy, AllowsWhatTheRulesSayForEachIdentityAndRefusesTheRestWith7) {
  const auto& certs = test_certificates();
  PolicyRouterd cluster(policy_text);
  ASSERT_TRUE(cluster.port && cluster.admin) << cluster.routerd.log();
  SyncClient billing(loopback(*cluster.port), client_files(certs.ca, certs.billing));
  SyncClient ops(loopback(*cluster.port), client_files(certs.ca, certs.cn_only));
  ASSERT_TRUE(billing.connected() && ops.connected()) << billing.error() << ops.error();

  EXPECT_EQ(billing.call(1, route("echo", "paid")).payload, R"({"payload":"paid"})");
  EXPECT_EQ(billing.call(1, route("open")).status, Status::ok);
  Reply denied = billing.call(1, route("ledger"));
  EXPECT_EQ(denied.status, Status::permission_denied);
  EXPECT_EQ(denied.payload, R"({"error":"permission denied: 'spiffe://example/billing' may not route to 'ledger'"})");
  Reply no_admin = billing.call(2, R"({"strategy":"random"})");
  EXPECT_EQ(no_admin.status, Status::permission_denied) << no_admin.payload;
  EXPECT_NE(no_admin.payload.find("may not call SET_STRATEGY"), std::string::npos) << no_admin.payload;
  EXPECT_EQ(billing.call(3, "{}").status, Status::ok) << "STATUS needs only a verified connection";
  const std::string drain = R"({"name":"echo","address":"127.0.0.1:9"})";
  Reply no_drain = billing.call(5, drain);
  EXPECT_EQ(no_drain.status, Status::permission_denied) << no_drain.payload;
  EXPECT_NE(no_drain.payload.find("may not call DRAIN"), std::string::npos) << no_drain.payload;

  EXPECT_EQ(ops.call(2, R"({"strategy":"random"})").status, Status::ok);
  EXPECT_EQ(ops.call(5, drain).status, Status::ok) << "admin = true may drain";
  EXPECT_EQ(ops.call(6, drain).status, Status::ok);
  EXPECT_EQ(ops.call(1, route("echo")).status, Status::permission_denied);
  EXPECT_EQ(ops.call(1, route("open")).status, Status::ok) << "\"*\": any verified client";

  auto samples = cluster.metrics();
  EXPECT_EQ(samples["routerd_policy_rules"], 3);
  EXPECT_EQ((samples["routerd_policy_denials_total{identity=\"spiffe://example/billing\"}"]), 3);
  EXPECT_EQ((samples["routerd_policy_denials_total{identity=\"plain-cn\"}"]), 1);
  EXPECT_TRUE(cluster.routerd.wait_for_log("refused by the policy.*may not route to 'ledger' \\(from 127.0.0.1:"))
      << cluster.routerd.log();
  ASSERT_TRUE(eventually([&] { return read_file(cluster.access_log).find("\"status\":7") != std::string::npos; }));
  auto lines = read_file(cluster.access_log);
  EXPECT_NE(lines.find(R"("system":"ledger","procedure":1,"status":7)"), std::string::npos) << lines;
  EXPECT_NE(lines.find(R"("identity":"spiffe://example/billing")"), std::string::npos) << lines;
  EXPECT_NE(lines.find(R"("identity":"plain-cn")"), std::string::npos) << lines;
}

TEST(RouterdPolicy, ReadsItsPolicyAgainOnSighupAndKeepsItWhenTheNewFileIsBad) {
  const auto& certs = test_certificates();
  PolicyRouterd cluster(policy_text);
  ASSERT_TRUE(cluster.port && cluster.admin) << cluster.routerd.log();
  SyncClient billing(loopback(*cluster.port), client_files(certs.ca, certs.billing));
  ASSERT_TRUE(billing.connected()) << billing.error();
  ASSERT_EQ(billing.call(1, route("ledger")).status, Status::permission_denied);

  // billing may now use the ledger: the same connection sees the new rules.
  std::ofstream(cluster.policy_file) << "[[allow]]\nidentity = \"spiffe://example/billing\"\n"
                                        "systems = [\"echo\", \"ledger\"]\n";
  cluster.routerd.signal(SIGHUP);
  ASSERT_TRUE(cluster.routerd.wait_for_log("reload \\(SIGHUP\\): applied .*policy")) << cluster.routerd.log();
  EXPECT_EQ(billing.call(1, route("ledger")).status, Status::ok);
  EXPECT_EQ(billing.call(1, route("open")).status, Status::permission_denied);
  EXPECT_EQ(cluster.metrics()["routerd_policy_rules"], 1);

  // A typo: the reload fails, the rules in force stay.
  std::ofstream(cluster.policy_file) << "[[allow]]\nidentity = \"spiffe://example/billing\"\nsystem = [\"open\"]\n";
  cluster.routerd.signal(SIGHUP);
  ASSERT_TRUE(cluster.routerd.wait_for_log("reload \\(SIGHUP\\) failed, nothing changed: .*\\.toml:3: unknown key "
                                           "'system'"))
      << cluster.routerd.log();
  EXPECT_EQ(billing.call(1, route("ledger")).status, Status::ok);
  EXPECT_EQ(billing.call(1, route("open")).status, Status::permission_denied);
  auto samples = cluster.metrics();
  EXPECT_EQ(samples["routerd_config_reload_failures_total"], 1);
  EXPECT_EQ(samples["routerd_tls_handshakes_total"], 1) << "the connection lived through both reloads";
}

TEST(RouterdPolicy, APolicyNeedsClientCertificatesAndABadFileStopsTheStart) {
  const auto& certs = test_certificates();
  auto good = temp_file(policy_text, ".toml");
  auto bad = temp_file("[[allow]]\nidentity = \"a\"\nadmin = maybe\n", ".toml");
  const std::vector<std::string> tls = {"--tls-cert", certs.server.cert, "--tls-key", certs.server.key};
  std::vector<std::string> mutual = tls;
  mutual.insert(mutual.end(), {"--tls-client-ca", certs.ca});
  struct Case {
    std::string program;
    std::vector<std::string> args;
    std::string says;
  };
  auto with = [](std::vector<std::string> args, std::vector<std::string> more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  const std::vector<Case> cases = {
      {ROUTERD_PATH, with(tls, {"--policy", good}), "--policy needs --tls-client-ca"},
      {DISCOVERYD_PATH, {"--policy", good}, "--policy needs --tls-client-ca"},
      {ROUTERD_PATH, with(mutual, {"--policy", bad}), bad + ":3: admin must be true or false"},
      {DISCOVERYD_PATH, with(mutual, {"--policy", bad}), bad + ":3: admin must be true or false"},
      {ROUTERD_PATH, with(mutual, {"--policy", certs.dir + "/absent.toml"}), "--policy: File does not exist"},
      {ROUTERD_PATH, with(mutual, {"--policy", bad, "--check-config"}), ":3: admin must be true or false"},
  };
  for (const auto& c : cases) {
    RunResult result = run_program(c.program, c.args);
    EXPECT_EQ(result.exit_code, 2) << c.program << ": " << result.err;
    EXPECT_NE(result.err.find(c.says), std::string::npos) << c.says << " not in: " << result.err;
  }
  RunResult checked = run_program(ROUTERD_PATH, with(mutual, {"--policy", good, "--check-config"}));
  EXPECT_EQ(checked.exit_code, 0) << checked.err;
  std::filesystem::remove(good);
  std::filesystem::remove(bad);
}

// discoveryd: who may REGISTER and DEREGISTER which names; QUERY and LIST
// need only a verified connection.
TEST(DiscoverydPolicy, RegistersOnlyTheNamesTheRulesAllow) {
  const auto& certs = test_certificates();
  auto policy = temp_file("[[allow]]\nidentity = \"spiffe://example/billing\"\nsystems = [\"billing\"]\n", ".toml");
  Process discoveryd(DISCOVERYD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--tls-cert",
                                       certs.server.cert, "--tls-key", certs.server.key, "--tls-client-ca", certs.ca,
                                       "--policy", policy});
  auto port = discoveryd.wait_listening();
  auto admin = admin_port_in(discoveryd.log());
  ASSERT_TRUE(port && admin) << discoveryd.log();
  SyncClient billing(loopback(*port), client_files(certs.ca, certs.billing));
  SyncClient ledger(loopback(*port), client_files(certs.ca, certs.dns_only));
  ASSERT_TRUE(billing.connected() && ledger.connected()) << billing.error() << ledger.error();

  EXPECT_EQ(billing.call(1, R"({"name":"billing","address":"127.0.0.1:7001"})").status, Status::ok);
  Reply hijack = ledger.call(1, R"({"name":"billing","address":"127.0.0.1:6666"})");
  EXPECT_EQ(hijack.status, Status::permission_denied);
  EXPECT_EQ(hijack.payload, "permission denied: 'ledger.example' may not register 'billing'");
  EXPECT_EQ(ledger.call(4, R"({"name":"billing","address":"127.0.0.1:7001"})").status, Status::permission_denied);
  Reply found = ledger.call(2, R"({"name":"billing"})");
  EXPECT_EQ(found.status, Status::ok) << found.payload;
  EXPECT_EQ(found.payload, R"({"address":"127.0.0.1:7001"})") << "the refused REGISTER changed nothing";

  auto samples = metric_samples(admin_get(*admin, "/metrics"));
  EXPECT_EQ((samples["discoveryd_policy_denials_total{identity=\"ledger.example\"}"]), 2);
  EXPECT_EQ((samples["discoveryd_answers_total{procedure=\"register\",outcome=\"denied\"}"]), 1);
  EXPECT_EQ((samples["discoveryd_answers_total{procedure=\"deregister\",outcome=\"denied\"}"]), 1);
  EXPECT_EQ(samples["discoveryd_policy_rules"], 1);
  EXPECT_EQ(samples["discoveryd_tls_handshakes_total"], 2);

  // SIGHUP: ledger.example may register "ledger" from now on.
  std::ofstream(policy) << "[[allow]]\nidentity = \"ledger.example\"\nsystems = [\"ledger\"]\n";
  discoveryd.signal(SIGHUP);
  ASSERT_TRUE(discoveryd.wait_for_log("reload \\(SIGHUP\\): applied .*policy")) << discoveryd.log();
  EXPECT_EQ(ledger.call(1, R"({"name":"ledger","address":"127.0.0.1:7002"})").status, Status::ok);
  EXPECT_EQ(billing.call(1, R"({"name":"billing","address":"127.0.0.1:7001"})").status, Status::permission_denied);
  std::filesystem::remove(policy);
}

// A reload that would leave a policy with no identities to check (mutual
// TLS dropped from the config file) is refused: the rules stay, and so does
// mutual TLS.
TEST(DiscoverydPolicy, AReloadDroppingMutualTlsUnderAPolicyIsRefused) {
  const auto& certs = test_certificates();
  auto policy = temp_file("[[allow]]\nidentity = \"spiffe://example/billing\"\nsystems = [\"billing\"]\n", ".toml");
  const std::string listener = "tls-cert = \"" + certs.server.cert + "\"\ntls-key = \"" + certs.server.key + "\"\n";
  auto config = temp_file(listener + "tls-client-ca = \"" + certs.ca + "\"\npolicy = \"" + policy + "\"\n", ".toml");
  Process discoveryd(DISCOVERYD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--config", config});
  auto port = discoveryd.wait_listening();
  ASSERT_TRUE(port) << discoveryd.log();
  std::ofstream(config) << listener << "policy = \"" << policy << "\"\n";
  discoveryd.signal(SIGHUP);
  EXPECT_TRUE(discoveryd.wait_for_log("reload \\(SIGHUP\\) failed, nothing changed: --policy needs --tls-client-ca"))
      << discoveryd.log();
  SyncClient billing(loopback(*port), client_files(certs.ca, certs.billing));
  ASSERT_TRUE(billing.connected()) << billing.error();
  EXPECT_EQ(billing.call(1, R"({"name":"billing","address":"127.0.0.1:7001"})").status, Status::ok);
  // A certificate without its key in a config file is still refused (the
  // pairing is checked once everything is read).
  auto half = temp_file("tls-cert = \"" + certs.server.cert + "\"\n", ".toml");
  RunResult checked = run_program(DISCOVERYD_PATH, {"--config", half, "--check-config"});
  EXPECT_EQ(checked.exit_code, 2);
  EXPECT_NE(checked.err.find("requires --tls-key"), std::string::npos) << checked.err;
  std::filesystem::remove(half);
  std::filesystem::remove(config);
  std::filesystem::remove(policy);
}

// Every hop over TLS (CONTRACT §9): echod registers with discoveryd over
// rpcs:// with its client certificate, which discoveryd's policy checks;
// routerd follows discoveryd over rpcs:// and calls echod with mutual TLS.
// An echod whose identity may not register that name is refused (7) and
// never reached by calls.
TEST(TlsEverywhere, RegistrationDiscoveryAndCallsAllSpeakTls) {
  const auto& certs = test_certificates();
  auto policy = temp_file("[[allow]]\nidentity = \"spiffe://example/billing\"\nsystems = [\"echo\"]\n", ".toml");
  const std::vector<std::string> serve_tls = {"--tls-cert", certs.server.cert, "--tls-key", certs.server.key,
                                              "--tls-client-ca", certs.ca};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), serve_tls.begin(), serve_tls.end());
    return args;
  };
  Process discoveryd(DISCOVERYD_PATH, with({"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--policy", policy}));
  auto discovery_port = discoveryd.wait_listening();
  ASSERT_TRUE(discovery_port) << discoveryd.log();
  const std::string url = "rpcs://127.0.0.1:" + std::to_string(*discovery_port);
  Process echod(ECHOD_PATH, with({"--listen", "127.0.0.1:0", "--discovery", url, "--tls-ca", certs.ca,
                                  "--upstream-tls-cert", certs.billing.cert, "--upstream-tls-key", certs.billing.key}));
  Process intruder(ECHOD_PATH, with({"--listen", "127.0.0.1:0", "--discovery", url, "--advertise", "127.0.0.1:1",
                                     "--tls-ca", certs.ca, "--upstream-tls-cert", certs.dns_only.cert,
                                     "--upstream-tls-key", certs.dns_only.key}));
  ASSERT_TRUE(echod.wait_listening() && intruder.wait_listening()) << echod.log() << intruder.log();
  EXPECT_TRUE(intruder.wait_for_log("permission denied: 'ledger.example' may not register 'echo'")) << intruder.log();
  Process routerd(ROUTERD_PATH, {"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery", url,
                                 "--tls-ca", certs.ca, "--upstream-tls-cert", certs.billing.cert,
                                 "--upstream-tls-key", certs.billing.key});
  auto port = routerd.wait_listening();
  ASSERT_TRUE(port) << routerd.log();
  SyncClient client(loopback(*port), nullptr);  // routerd's own port is plain here
  ASSERT_TRUE(client.connected());
  for (int i = 0; i < 4; ++i) {
    Reply reply;
    ASSERT_TRUE(eventually([&] { return (reply = client.call(1, route("echo", "hop"))).ok(); }, 5s))
        << reply.payload << routerd.log();
    EXPECT_EQ(reply.payload, R"({"payload":"hop"})");
  }
  auto admin = admin_port_in(discoveryd.log());
  ASSERT_TRUE(admin);
  auto samples = metric_samples(admin_get(*admin, "/metrics"));
  EXPECT_GE(samples["discoveryd_tls_handshakes_total"], 3) << "echod, the intruder and routerd";
  EXPECT_GE((samples["discoveryd_policy_denials_total{identity=\"ledger.example\"}"]), 1);
  // routerd watches the expiry of the certificate discovery started with.
  auto routerd_admin = admin_port_in(routerd.log());
  ASSERT_TRUE(routerd_admin);
  EXPECT_GT((metric_samples(admin_get(*routerd_admin, "/metrics"))
                 ["routerd_tls_certificate_expiry_seconds{certificate=\"discovery\"}"]),
            3600);

  // A plain rpc:// client gets nowhere; rpcs:// without a CA is refused at start.
  RunResult plain = run_program(ROUTERD_PATH, {"--discovery", url, "--check-config"});
  EXPECT_EQ(plain.exit_code, 2);
  EXPECT_NE(plain.err.find("needs a CA"), std::string::npos) << plain.err;
  RunResult echod_plain = run_program(ECHOD_PATH, {"--discovery", url, "--check-config"});
  EXPECT_EQ(echod_plain.exit_code, 2);
  EXPECT_NE(echod_plain.err.find("give --tls-ca"), std::string::npos) << echod_plain.err;
  std::filesystem::remove(policy);
}

}  // namespace
}  // namespace routing::test
