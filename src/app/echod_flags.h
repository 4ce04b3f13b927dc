#pragma once
// echod's flags (CONTRACT section 4), apart from main() like routerd's, so
// that settings.h can check a config file's values against them.
#include "app/common_flags.h"
#include "echo/echo_service.h"
#include "rpc/server_options.h"

#include <routing/router.h>

#include <string>

namespace routing::app {

struct EchodFlags {
  CommonOptions common;
  rpc::ServerOptions server;
  std::string name = "echo";
  std::string discovery_url;
  std::string advertise;
  long ttl_ms = 10000;
  std::string zone;   // registered with the instance (CONTRACT §11); "" = none
  long weight = 100;  // 1..1000
  echo::EchoSpeed speed;
  double change_after_s = -1;
  bool line_protocol_only = false;  // rpc::ServerOptions::tagged_frames off
  TlsClientOptions discovery_tls;   // --tls-ca, --upstream-tls-*: to discoveryd (rpcs://) or etcd (etcds://)
};

// Every flag, with --config FILE and --check-config (environment prefix ECHOD_).
void add_echod_flags(CLI::App& app, EchodFlags& flags);

}  // namespace routing::app
