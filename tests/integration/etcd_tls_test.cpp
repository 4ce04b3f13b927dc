// etcds:// (CONTRACT §9): the etcd backend over HTTPS against a real etcd
// that asks for client certificates. The member is verified against the CA
// and its address; a client without a certificate, or trusting another CA,
// gets nowhere and says why.
#include "app/control_loop.h"
#include "discovery/discovery.h"
#include "rpc/tls/tls_context.h"
#include "support/etcd.h"
#include "support/eventually.h"
#include "support/sync_client.h"
#include "support/test_certificates.h"
#include "support/test_discoveryd.h"
#include "support/watch_recorder.h"

#include <gtest/gtest.h>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

EtcdTlsFiles mutual_tls() {
  const auto& certs = test_certificates();
  return {certs.server.cert, certs.server.key, certs.ca};
}

class EtcdTlsTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_TRUE(etcd_.ready()) << etcd_.log(); }
  template <typename T>
  T sync(boost::asio::awaitable<T> work) { return run_sync(loop_.executor(), std::move(work)); }
  std::unique_ptr<discovery::Discovery> connect_with(const rpc::tls::ClientFiles& files) {
    return discovery::make_discovery(etcd_.url(), loop_.executor(),
                                     {.call_timeout = 3s, .tls = rpc::tls::Context::client(files)});
  }

  Etcd etcd_{mutual_tls()};
  app::ControlLoop loop_;
};

TEST_F(EtcdTlsTest, AnnouncesListsAndWatchesOverHttpsWithAClientCertificate) {
  const auto& certs = test_certificates();
  auto discovery = connect_with(client_files(certs.ca, certs.billing));
  auto announced = sync(discovery->announce("echo", "127.0.0.1:7001", 5s, {}));
  ASSERT_TRUE(announced.ok()) << announced.error << etcd_.log();
  WatchRecorder echo;
  auto watch = discovery->watch("echo", echo.callback());
  ASSERT_TRUE(eventually([&] { return echo.last() == std::vector<std::string>{"127.0.0.1:7001"}; }, 5s));
  ASSERT_TRUE(sync(discovery->announce("echo", "127.0.0.1:7002", 5s, {})).ok());
  EXPECT_TRUE(eventually(
      [&] { return echo.last() == std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7002"}; }, 5s));
  auto list = sync(discovery->list("echo"));
  ASSERT_TRUE(list.ok()) << list.error;
  EXPECT_EQ(list.value.addresses.size(), 2u);
  watch->stop();
}

TEST_F(EtcdTlsTest, AClientWithoutCertificateOrTrustingAnotherCaIsRefused) {
  const auto& certs = test_certificates();
  auto no_cert = sync(connect_with(client_files(certs.ca))->list("echo"));
  EXPECT_EQ(no_cert.status, Status::unavailable);
  auto stranger = sync(connect_with(client_files(certs.other_ca, certs.stranger))->list("echo"));
  EXPECT_EQ(stranger.status, Status::unavailable);
  EXPECT_NE(stranger.error.find("certificate verify failed"), std::string::npos) << stranger.error;
  auto wrong_name = sync(connect_with(client_files(certs.ca, certs.billing, "elsewhere.example"))->list("echo"));
  EXPECT_EQ(wrong_name.status, Status::unavailable);
  EXPECT_NE(wrong_name.error.find("certificate verify failed"), std::string::npos) << wrong_name.error;
}

TEST_F(EtcdTlsTest, PlainEtcdUrlsAndTlsUrlsWithoutACaAreTold) {
  auto plain = discovery::make_discovery("etcd://" + etcd_.endpoint(), loop_.executor(), {.call_timeout = 2s});
  EXPECT_EQ(sync(plain->list("echo")).status, Status::unavailable) << "plain HTTP to an HTTPS member";
  EXPECT_THROW(discovery::make_discovery(etcd_.url(), loop_.executor()), std::invalid_argument);
}

}  // namespace
}  // namespace routing::test
