#include "app/service_notify.h"

#include <spdlog/spdlog.h>
#include <systemd/sd-daemon.h>

#include <ctime>
#include <string>

namespace routing::app {
namespace {

// A failed notification is worth a log line, never a stop: the service
// manager will notice a missing READY=1 by its own timeout.
void send(const std::string& state) {
  int result = ::sd_notify(0, state.c_str());
  if (result < 0) spdlog::warn("sd_notify({}) failed: error {}", state, -result);
}

}  // namespace

void notify_ready() { send("READY=1"); }

void notify_reloading() {
  timespec now{};
  ::clock_gettime(CLOCK_MONOTONIC, &now);
  const long long usec = static_cast<long long>(now.tv_sec) * 1'000'000 + now.tv_nsec / 1'000;
  send("RELOADING=1\nMONOTONIC_USEC=" + std::to_string(usec));
}

void notify_stopping() { send("STOPPING=1"); }

}  // namespace routing::app
