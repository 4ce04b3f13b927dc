// GET /metrics' text (src/proxy/stats_output.cpp): a backend gets its
// routing_backend_* series once it did anything or is out of the ordinary;
// the ones nothing happened to (most of a large system's, with the
// aperture) are only counted in routing_backends.
#include "proxy/stats_output.h"

#include <gtest/gtest.h>

#include <string>

namespace routing::proxy {
namespace {

BackendStats backend(std::string address) {
  BackendStats b;
  b.address = std::move(address);
  return b;
}

bool has_series_of(const std::string& text, const std::string& address) {
  return text.find("routing_backend_healthy{system=\"s\",backend=\"" + address + "\"}") != std::string::npos;
}

TEST(MetricsText, OnlyBackendsThatDidSomethingOrAreOutOfTheOrdinaryGetSeries) {
  RouterStats router;
  SystemStats system;
  system.name = "s";
  auto called = backend("10.0.0.1:1");
  called.calls_by_status[0] = 3;
  auto idle = backend("10.0.0.2:1");  // nothing happened to it
  auto connected = backend("10.0.0.3:1");
  connected.idle_connections = 1;
  auto unhealthy = backend("10.0.0.4:1");
  unhealthy.healthy = false;
  auto drained = backend("10.0.0.5:1");
  drained.drained = true;
  auto ejected_once = backend("10.0.0.6:1");
  ejected_once.ejections = 1;
  auto failed_checks = backend("10.0.0.7:1");
  failed_checks.health_check_failures = 1;
  auto ramping = backend("10.0.0.8:1");
  ramping.slow_start_share = 0.5;
  system.backends = {called, idle, connected, unhealthy, drained, ejected_once, failed_checks, ramping};
  for (int i = 0; i < 1000; ++i) system.backends.push_back(backend("10.1." + std::to_string(i / 250) + "." + std::to_string(i % 250) + ":1"));
  router.systems.push_back(system);

  const auto text = prometheus_text(router, ProxyStats{});
  for (const char* address : {"10.0.0.1:1", "10.0.0.3:1", "10.0.0.4:1", "10.0.0.5:1", "10.0.0.6:1", "10.0.0.7:1", "10.0.0.8:1"}) {
    EXPECT_TRUE(has_series_of(text, address)) << address;
  }
  EXPECT_FALSE(has_series_of(text, "10.0.0.2:1"));
  EXPECT_FALSE(has_series_of(text, "10.1.0.0:1"));
  EXPECT_NE(text.find("routing_backends{system=\"s\"} 1008\n"), std::string::npos);
  // Not available: unhealthy, drained.
  EXPECT_NE(text.find("routing_backends_available{system=\"s\"} 1006\n"), std::string::npos);
  // 1,008 backends, 7 of them with series: a page of a few KiB, not ~3 MB.
  EXPECT_LT(text.size(), 40'000u);
}

}  // namespace
}  // namespace routing::proxy
