#pragma once
// Certificates on SIGHUP and close to expiry (CONTRACT §9, docs/security.md
// "Rotating certificates"), one way for every server: the listener's files
// are read again (new handshakes use them; connections made keep theirs), a
// certificate expiring within 30 days is a warning in the log, and
// `*_tls_certificate_expiry_seconds` says how long each has left.
#include "rpc/server.h"
#include "rpc/tls/tls_context.h"

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace routing::app {

// A context made from the listener's files as they are now, to be put in
// force with Server::set_tls once the whole reload passed; nullopt (with
// `error`) when they do not make one, or when the listener has no TLS
// (turning TLS on or off needs a restart). `running`: TLS on now.
std::optional<std::shared_ptr<const rpc::tls::Context>> listener_tls_from(const rpc::tls::ServerFiles& files,
                                                                          bool running, std::string& error);

// A reload's `keep` rule for TLS files (settings_reload.h): their files
// apply, but a setting that turns TLS on or off on a listener or a client
// side (tls-cert, admin-tls-cert, tls-ca) needs a restart. The reason, or
// nullopt when `name` is not such a switch.
std::optional<std::string> tls_switch_needs_restart(const std::string& name, const std::string& value,
                                                    const std::string& current);

// Logs a warning when `expiry` is less than 30 days away (or past);
// `which`: "the listener's certificate /etc/...".
void warn_if_expiring(std::optional<std::chrono::system_clock::time_point> expiry, std::string_view which);

// The expiry of the certificate `context` presents (nullopt: none).
std::optional<std::chrono::system_clock::time_point> expiry_of(const std::shared_ptr<const rpc::tls::Context>& context);

// `prefix`_tls_certificate_expiry_seconds, one sample per certificate
// (label certificate="listener", "admin", "upstream"): seconds until it expires,
// negative once it has. Empty when there is none.
struct CertificateExpiry {
  std::string certificate;
  std::chrono::system_clock::time_point expiry;
};
std::string expiry_metrics_text(std::string_view prefix, const std::vector<CertificateExpiry>& certificates);

}  // namespace routing::app
