#pragma once
// Certificates for TLS tests, made once per test process with the openssl
// command line (as an operator would) in a fresh temporary directory:
//   ca                 the trusted CA
//   server             for 127.0.0.1 and localhost, signed by ca
//   wrong_name_server  for elsewhere.example only, signed by ca
//   billing            client: URI SAN spiffe://example/billing, DNS SAN
//                      billing.example, CN billing
//   dns_only           client: DNS SAN ledger.example, CN ledger
//   cn_only            client: no SAN, CN plain-cn
//   other_ca           a CA nobody trusts; stranger is a client it signed
//   expired_client     signed by ca, URI SAN spiffe://example/billing, expired in 2020
//   expired_server     signed by ca, for 127.0.0.1, expired in 2020
// The others are valid for one day (a day from expiry: servers warn).
#include <string>

namespace routing::test {

struct KeyPair {
  std::string cert;  // PEM file paths
  std::string key;
};

struct TestCertificates {
  std::string dir;
  std::string ca;
  std::string other_ca;
  KeyPair server;
  KeyPair wrong_name_server;
  KeyPair billing;
  KeyPair dns_only;
  KeyPair cn_only;
  KeyPair stranger;
  KeyPair expired_client;
  KeyPair expired_server;
};

// Made on first use; fails the test (and returns empty paths) if openssl fails.
const TestCertificates& test_certificates();

}  // namespace routing::test
