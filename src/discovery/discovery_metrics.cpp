#include "discovery/discovery_metrics.h"

#include "common/prometheus_label.h"

#include <charconv>

namespace routing::discovery {
namespace {

constexpr std::string_view procedure_names[DiscoveryStats::procedure_count] = {"register", "query", "list",
                                                                               "deregister"};
constexpr std::string_view outcome_names[DiscoveryStats::outcome_count] = {
    "ok", "invalid", "not_found", "refused", "draining", "denied", "other"};

void head(std::string& out, std::string_view name, std::string_view type, std::string_view help) {
  out.append("# HELP discoveryd_").append(name).append(" ").append(help).append("\n");
  out.append("# TYPE discoveryd_").append(name).append(" ").append(type).append("\n");
}

void value(std::string& out, std::string_view name, std::string_view labels, double number) {
  char text[64];
  auto [end, ec] = std::to_chars(text, text + sizeof text, number);
  out.append("discoveryd_").append(name).append(labels).append(" ").append(text, end).append("\n");
}

void single(std::string& out, std::string_view name, std::string_view type, std::string_view help, double number) {
  head(out, name, type, help);
  value(out, name, "", number);
}

}  // namespace

std::string prometheus_text(const DiscoverydFigures& f) {
  std::string out;
  const auto& s = f.service;
  head(out, "answers_total", "counter",
       "Answers by procedure and outcome (ok, invalid: status 3, not_found: 5, refused: 8 over a limit, "
       "draining: 14 while draining, denied: 7 by the --policy, other).");
  for (std::size_t p = 0; p < DiscoveryStats::procedure_count; ++p) {
    for (std::size_t o = 0; o < DiscoveryStats::outcome_count; ++o) {
      std::string labels = "{procedure=\"" + std::string(procedure_names[p]) + "\",outcome=\"" +
                           std::string(outcome_names[o]) + "\"}";
      value(out, "answers_total", labels, static_cast<double>(s.answers[p][o]));
    }
  }
  single(out, "names", "gauge", "Names with at least one live instance.", static_cast<double>(s.names));
  single(out, "instances", "gauge", "Live instances (leases) of all names.", static_cast<double>(s.instances));
  single(out, "long_polls", "gauge", "LIST long polls waiting now.", static_cast<double>(s.long_polls));
  single(out, "leases_expired_total", "counter", "Instances dropped because their lease was not refreshed in time.",
         static_cast<double>(s.leases_expired));
  single(out, "connections", "gauge", "Client connections open now.", static_cast<double>(f.server.open_connections));
  single(out, "connections_accepted_total", "counter", "Client connections accepted.",
         static_cast<double>(f.server.accepted_total));
  single(out, "connections_rejected_total", "counter", "Client connections refused over --max-connections.",
         static_cast<double>(f.server.rejected_total));
  single(out, "tls_handshakes_total", "counter", "Client TLS handshakes completed (--tls-cert).",
         static_cast<double>(f.server.tls_handshakes_total));
  single(out, "tls_resumed_total", "counter", "Of those, resumed TLS sessions.",
         static_cast<double>(f.server.tls_resumed_total));
  single(out, "tls_handshake_failures_total", "counter",
         "Client connections refused at the TLS handshake (plain TCP, garbage, bad or no certificate, a stall).",
         static_cast<double>(f.server.tls_handshake_failures_total));
  single(out, "policy_rules", "gauge", "[[allow]] rules of the --policy in force (0: no policy).",
         static_cast<double>(s.policy_rules));
  head(out, "policy_denials_total", "counter",
       "REGISTER and DEREGISTER calls refused (7) by the --policy, by the caller's identity (\"_none\": no client "
       "certificate; past 100 identities, \"_other\").");
  for (const auto& [identity, count] : s.policy_denials) {
    value(out, "policy_denials_total", "{identity=\"" + common::prometheus_label(identity) + "\"}",
          static_cast<double>(count));
  }
  single(out, "config_reloads_total", "counter", "SIGHUP reloads of the settings that passed.",
         static_cast<double>(f.config_reloads));
  single(out, "config_reload_failures_total", "counter",
         "SIGHUP reloads refused for a bad setting (nothing changed; the log says why).",
         static_cast<double>(f.config_reload_failures));
  single(out, "draining", "gauge", "1 from SIGTERM on (LISTs are answered 14 at once), else 0.", f.draining ? 1 : 0);
  return out;
}

}  // namespace routing::discovery
