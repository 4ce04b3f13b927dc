#include "support/test_certificates.h"

#include <gtest/gtest.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <stdexcept>

namespace routing::test {
namespace {

void run(const std::string& command) {
  std::string quiet = command + " >/dev/null 2>&1";
  if (std::system(quiet.c_str()) != 0) throw std::runtime_error("failed: " + command);
}

std::string new_key(const std::string& path) {
  return "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -keyout " + path;
}

void make_ca(const std::string& dir, const std::string& name) {
  run("openssl req -x509 " + new_key(dir + "/" + name + ".key") + " -out " + dir + "/" + name +
      ".pem -subj /CN=" + name + " -days 2");
}

// A leaf signed by `ca` with `subject` and, if not empty, `alt_names`.
KeyPair make_leaf(const std::string& dir, const std::string& name, const std::string& ca,
                  const std::string& subject, const std::string& alt_names) {
  KeyPair pair{dir + "/" + name + ".pem", dir + "/" + name + ".key"};
  std::string command = "openssl req -x509 " + new_key(pair.key) + " -out " + pair.cert + " -subj " + subject +
                        " -CA " + dir + "/" + ca + ".pem -CAkey " + dir + "/" + ca + ".key -days 1" +
                        " -addext basicConstraints=critical,CA:FALSE";
  if (!alt_names.empty()) command += " -addext subjectAltName=" + alt_names;
  run(command);
  return pair;
}

// A leaf signed by `ca` that expired in 2020: `openssl req` cannot backdate,
// `openssl ca` can (-startdate/-enddate), with a minimal CA database.
KeyPair make_expired_leaf(const std::string& dir, const std::string& name, const std::string& ca,
                          const std::string& subject, const std::string& alt_names) {
  KeyPair pair{dir + "/" + name + ".pem", dir + "/" + name + ".key"};
  const std::string db = dir + "/" + name + "-db";
  std::filesystem::create_directories(db);
  std::ofstream(db + "/index.txt");
  std::ofstream(db + "/serial") << "01\n";
  std::ofstream(db + "/ca.cnf") << "[ca]\ndefault_ca=d\n[d]\ndatabase=" << db << "/index.txt\nnew_certs_dir=" << db
                                << "\nserial=" << db << "/serial\ndefault_md=sha256\npolicy=p\n[p]\ncommonName=supplied\n";
  std::ofstream(db + "/ext.cnf") << "basicConstraints=critical,CA:FALSE\nsubjectAltName=" << alt_names << "\n";
  run("openssl req -new " + new_key(pair.key) + " -out " + db + "/leaf.csr -subj " + subject);
  run("openssl ca -batch -config " + db + "/ca.cnf -cert " + dir + "/" + ca + ".pem -keyfile " + dir + "/" + ca +
      ".key -in " + db + "/leaf.csr -out " + pair.cert + " -extfile " + db +
      "/ext.cnf -startdate 20200101000000Z -enddate 20200102000000Z -notext");
  return pair;
}

TestCertificates make_all() {
  char pattern[] = "/tmp/routing-tls-XXXXXX";
  if (::mkdtemp(pattern) == nullptr) throw std::runtime_error("mkdtemp failed");
  TestCertificates c;
  c.dir = pattern;
  make_ca(c.dir, "ca");
  make_ca(c.dir, "other_ca");
  c.ca = c.dir + "/ca.pem";
  c.other_ca = c.dir + "/other_ca.pem";
  c.server = make_leaf(c.dir, "server", "ca", "/CN=server", "IP:127.0.0.1,DNS:localhost");
  c.wrong_name_server = make_leaf(c.dir, "wrong_name", "ca", "/CN=elsewhere", "DNS:elsewhere.example");
  c.billing = make_leaf(c.dir, "billing", "ca", "/CN=billing", "URI:spiffe://example/billing,DNS:billing.example");
  c.dns_only = make_leaf(c.dir, "dns_only", "ca", "/CN=ledger", "DNS:ledger.example");
  c.cn_only = make_leaf(c.dir, "cn_only", "ca", "/CN=plain-cn", "");
  c.stranger = make_leaf(c.dir, "stranger", "other_ca", "/CN=stranger", "URI:spiffe://example/stranger");
  c.expired_client = make_expired_leaf(c.dir, "expired_client", "ca", "/CN=expired", "URI:spiffe://example/billing");
  c.expired_server = make_expired_leaf(c.dir, "expired_server", "ca", "/CN=expired-server", "IP:127.0.0.1");
  return c;
}

}  // namespace

const TestCertificates& test_certificates() {
  static const TestCertificates certificates = [] {
    try {
      return make_all();
    } catch (const std::exception& e) {
      ADD_FAILURE() << "cannot make test certificates: " << e.what();
      return TestCertificates{};
    }
  }();
  return certificates;
}

}  // namespace routing::test
