#include "app/tls_flags.h"

#include <openssl/err.h>
#include <openssl/pem.h>

#include <cstdio>

namespace routing::app {
namespace {

// Reads the file's first PEM object of the kind `read` parses.
template <class Read>
std::string check_pem(const std::string& path, const char* kind, Read read) {
  std::FILE* file = std::fopen(path.c_str(), "r");
  if (file == nullptr) return "cannot read '" + path + "'";
  bool ok = read(file);
  std::fclose(file);
  ERR_clear_error();
  return ok ? "" : "'" + path + "' holds no PEM " + kind;
}

}  // namespace

CLI::Validator pem_certificate_file() {
  return CLI::Validator(
      [](const std::string& path) -> std::string {
        return check_pem(path, "certificate", [](std::FILE* file) {
          X509* cert = PEM_read_X509(file, nullptr, nullptr, nullptr);
          X509_free(cert);
          return cert != nullptr;
        });
      },
      "FILE");
}

CLI::Validator pem_key_file() {
  return CLI::Validator(
      [](const std::string& path) -> std::string {
        return check_pem(path, "private key", [](std::FILE* file) {
          EVP_PKEY* key = PEM_read_PrivateKey(file, nullptr, nullptr, nullptr);
          EVP_PKEY_free(key);
          return key != nullptr;
        });
      },
      "FILE");
}

std::optional<std::string> server_tls_problem(const rpc::tls::ServerFiles& files) {
  if (!files.enabled()) return std::nullopt;
  try {
    rpc::tls::Context::server(files);
    return std::nullopt;
  } catch (const std::runtime_error& e) {
    return std::string(e.what());
  }
}

std::optional<std::string> server_tls_problem(const rpc::ServerOptions& options) {
  return server_tls_problem(options.tls);
}

void add_server_tls_flags(CLI::App& app, rpc::tls::ServerFiles& files, const std::string& prefix) {
  auto* cert = app.add_option(prefix + "-cert", files.cert, "serve TLS only, with this certificate chain (PEM)")
                   ->check(pem_certificate_file());
  auto* key = app.add_option(prefix + "-key", files.key, "the private key of " + prefix + "-cert (PEM)")
                  ->check(pem_key_file());
  auto* client_ca = app.add_option(prefix + "-client-ca", files.client_ca,
                                   "mutual TLS: require a client certificate signed by this CA (PEM)")
                        ->check(pem_certificate_file());
  cert->needs(key);
  key->needs(cert);
  client_ca->needs(cert);
}

void add_client_tls_flags(CLI::App& app, TlsClientOptions& tls, const std::string& cert_prefix) {
  auto* ca = app.add_option("--tls-ca", tls.ca_file,
                            "connect with TLS, verifying servers against this CA (PEM) and their names")
                 ->check(pem_certificate_file());
  auto* name = app.add_option("--tls-server-name", tls.server_name,
                              "the name to verify in servers' certificates (default: the host of each address)");
  auto* cert = app.add_option(cert_prefix + "-cert", tls.cert_file,
                              "the client certificate to present to servers (PEM; with --tls-ca)")
                   ->check(pem_certificate_file());
  auto* key = app.add_option(cert_prefix + "-key", tls.key_file, "the private key of " + cert_prefix + "-cert (PEM)")
                  ->check(pem_key_file());
  name->needs(ca);
  cert->needs(key);
  key->needs(cert);
  cert->needs(ca);
}

}  // namespace routing::app
