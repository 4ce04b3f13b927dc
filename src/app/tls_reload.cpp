#include "app/tls_reload.h"

#include <spdlog/spdlog.h>

#include <cstdio>

namespace routing::app {

std::optional<std::shared_ptr<const rpc::tls::Context>> listener_tls_from(const rpc::tls::ServerFiles& files,
                                                                          bool running, std::string& error) {
  if (!running || !files.enabled()) return std::nullopt;
  try {
    return rpc::tls::Context::server(files);
  } catch (const std::runtime_error& e) {
    error = e.what();
    return std::nullopt;
  }
}

std::optional<std::string> tls_switch_needs_restart(const std::string& name, const std::string& value,
                                                    const std::string& current) {
  const bool a_switch = name == "tls-cert" || name == "admin-tls-cert" || name == "tls-ca";
  if (a_switch && value.empty() != current.empty()) return std::string("turning TLS on or off");
  return std::nullopt;
}

std::optional<std::chrono::system_clock::time_point> expiry_of(const std::shared_ptr<const rpc::tls::Context>& context) {
  if (!context || context->certificate_expiry() == std::chrono::system_clock::time_point::max()) return std::nullopt;
  return context->certificate_expiry();
}

void warn_if_expiring(std::optional<std::chrono::system_clock::time_point> expiry, std::string_view which) {
  using Days = std::chrono::duration<double, std::ratio<86400>>;
  if (!expiry) return;
  const auto left = Days(*expiry - std::chrono::system_clock::now()).count();
  if (left >= 30) return;
  if (left < 0) {
    spdlog::warn("{} expired {:.1f} days ago: peers refuse it; rotate it and send SIGHUP", which, -left);
  } else {
    spdlog::warn("{} expires in {:.1f} days: rotate it and send SIGHUP", which, left);
  }
}

std::string expiry_metrics_text(std::string_view prefix, const std::vector<CertificateExpiry>& certificates) {
  if (certificates.empty()) return {};
  std::string name = std::string(prefix) + "_tls_certificate_expiry_seconds";
  std::string out = "# HELP " + name +
                    " Seconds until the certificate this process presents expires (negative: expired), by "
                    "certificate (listener, admin, upstream, discovery).\n# TYPE " + name + " gauge\n";
  const auto now = std::chrono::system_clock::now();
  for (const auto& c : certificates) {
    char value[32];
    std::snprintf(value, sizeof value, "%.0f", std::chrono::duration<double>(c.expiry - now).count());
    out += name + "{certificate=\"" + c.certificate + "\"} " + value + "\n";
  }
  return out;
}

}  // namespace routing::app
