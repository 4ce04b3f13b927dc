// RouterCore::reconfigure: new settings while calls run (routerd's SIGHUP).
#include "routing/router_core.h"

namespace routing::core {
namespace {

// What a running router cannot change: its loops and frames are sized, its
// discovery connected and its bookkeeping built from these. They keep the
// values the router started with.
void keep_what_needs_a_restart(RouterOptions& next, const RouterOptions& now) {
  if (next.adaptive_pool != now.adaptive_pool) {  // "auto" leaves pool_size at its default: keep both
    next.pool_size = now.pool_size;
    next.adaptive_max_pool = now.adaptive_max_pool;
  }
  next.discovery = now.discovery;
  next.resolver = now.resolver;
  next.adaptive_pool = now.adaptive_pool;
  next.adaptive_min_pool = now.adaptive_min_pool;
  next.adaptive_interval = now.adaptive_interval;
  next.threads = now.threads;
  next.max_frame_bytes = now.max_frame_bytes;
  next.dns_refresh = now.dns_refresh;
  next.dns_timeout = now.dns_timeout;
  next.unknown_name_ttl = now.unknown_name_ttl;
  next.max_unknown_names = now.max_unknown_names;
  next.trace_log = now.trace_log;
  next.zone = now.zone;  // backends' `local` flags were set with it
  next.book_systems = now.book_systems;  // each system's transport is chosen when it is made
  // Other files may be named (reload_tls reads them); TLS on or off may not.
  if (next.tls.ca_file.empty() != now.tls.ca_file.empty()) next.tls = now.tls;
}

}  // namespace

void RouterCore::reconfigure(RouterOptions wanted) {
  std::lock_guard lock(reconfigure_mutex_);
  const RouterOptions& now = options();
  keep_what_needs_a_restart(wanted, now);
  validate(wanted);  // throws, changing nothing
  // Certificates are rotated under the same names: read the files again
  // whether or not their names changed.
  backend_tls_.reload(wanted.tls);  // throws, changing nothing
  if (wanted == now) return;  // no new version: a reload that changes nothing costs nothing
  const bool strategy_changed = wanted.strategy != now.strategy;
  const bool checks_changed = wanted.health_check != now.health_check ||
                              wanted.health_check_interval != now.health_check_interval ||
                              wanted.health_check_timeout != now.health_check_timeout ||
                              wanted.unhealthy_after != now.unhealthy_after ||
                              wanted.max_health_checks_per_second != now.max_health_checks_per_second;
  options_.replace(std::move(wanted));
  const RouterOptions& next = options();
  // Systems made from here on read the new settings; these are the ones made before.
  if (strategy_changed) systems_.set_strategy(next.strategy, std::nullopt);
  if (checks_changed) health_.wake();  // the checks re-read their settings
  for (const auto& system : systems_.all()) {
    if (!next.adaptive_pool) system->limiter.set_limit(next.pool_size);  // adaptive: the limits loop clamps
    system->limiter.set_max_pending(next.max_pending);
  }
}

namespace {

std::optional<std::chrono::system_clock::time_point> expiry(const std::shared_ptr<const rpc::tls::Context>& context) {
  if (!context || context->certificate_expiry() == std::chrono::system_clock::time_point::max()) return std::nullopt;
  return context->certificate_expiry();
}

}  // namespace

std::optional<std::chrono::system_clock::time_point> RouterCore::backend_certificate_expiry() const {
  return expiry(backend_tls_.context());
}

std::optional<std::chrono::system_clock::time_point> RouterCore::discovery_certificate_expiry() const {
  return expiry(discovery_tls_);
}

}  // namespace routing::core
