// echod: the example backend (CONTRACT §4).
#include "app/common_flags.h"
#include "app/logging.h"
#include "app/run.h"
#include "echo/echo_service.h"

#include <spdlog/spdlog.h>

int main(int argc, char** argv) {
  using namespace routing;
  CLI::App app{"echod: example line-protocol backend answering ECHO (1), SLOW_ECHO (2) and WHOAMI (3)",
               "echod"};
  app::CommonOptions common;
  rpc::ServerOptions server_options;
  std::string name = "echo";
  app::add_common_flags(app, common);
  app::add_server_flags(app, server_options, "127.0.0.1:7001");
  app.add_option("--name", name, "system name this instance serves (used for discovery)")
      ->capture_default_str();
  if (int code = app::parse_flags(app, argc, argv); code >= 0) return code;

  app::init_logging("echod", common.log_level);
  rpc::Server server(server_options);
  echo::register_echo_service(server);
  spdlog::info("serving system '{}'", name);
  return app::serve_until_signal(server);
}
