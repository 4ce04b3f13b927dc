#include "self_registration.h"

#include "discovery/registration.h"
#include "routing/backend_tls.h"

#include <spdlog/spdlog.h>

namespace routing::app {

SelfRegistration::SelfRegistration(const RouterdFlags& flags, boost::asio::any_io_executor executor,
                                   std::string address) {
  // The router's own client TLS (--tls-ca, --upstream-tls-*) reaches rpcs:// and etcds://.
  auto tls = core::BackendTls(flags.router.tls).context();
  discovery_ = discovery::make_discovery(flags.router.discovery, executor, {.tls = tls});
  discovery::Placement placement;
  placement.zone = flags.router.zone;
  registration_ = std::make_unique<discovery::Registration>(*discovery_, flags.register_as, address,
                                                            std::chrono::milliseconds(flags.register_ttl_ms),
                                                            discovery::DiscoveryOptions{.tls = tls}, placement);
  registration_->start();
  spdlog::info("registering this routerd as '{}' at {} in {}", flags.register_as, address, discovery_->describe());
}

SelfRegistration::~SelfRegistration() = default;

void SelfRegistration::stop() { registration_->stop_blocking(std::chrono::seconds(3)); }

}  // namespace routing::app
