#pragma once
// The TLS flags of CONTRACT section 9, one way for every program: a
// listener's (--tls-cert, --tls-key, --tls-client-ca; the admin listener's
// with --admin-tls-*) and an outgoing connection's (--tls-ca,
// --tls-server-name, and the client certificate as --tls-cert/--tls-key on
// clients, --upstream-tls-cert/--upstream-tls-key on routerd and echod).
// Each file is checked as it is named (readable, PEM of the right kind); a
// certificate and a key that do not belong together are found when the
// context is made (make_*_tls below), before the program serves.
#include "rpc/server_options.h"
#include "rpc/tls/tls_context.h"

#include <routing/router.h>

#include <CLI/CLI.hpp>

#include <memory>
#include <optional>
#include <string>

namespace routing::app {

// `prefix`: "--tls" or "--admin-tls".
void add_server_tls_flags(CLI::App& app, rpc::tls::ServerFiles& files, const std::string& prefix = "--tls");
// `cert_prefix`: "--tls" (clients) or "--upstream-tls" (servers that also connect).
void add_client_tls_flags(CLI::App& app, TlsClientOptions& tls, const std::string& cert_prefix);

// Why the listener's TLS files do not make a context (say, a key that does
// not belong to the certificate), or nullopt (also without TLS).
std::optional<std::string> server_tls_problem(const rpc::ServerOptions& options);
// The same for other listeners' files (the admin listener's --admin-tls-*).
std::optional<std::string> server_tls_problem(const rpc::tls::ServerFiles& files);

// CLI11 validators: a PEM file holding a certificate (or CA certificates),
// or a private key.
CLI::Validator pem_certificate_file();
CLI::Validator pem_key_file();

}  // namespace routing::app
