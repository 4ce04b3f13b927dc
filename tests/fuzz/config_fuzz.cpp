// libFuzzer target: arbitrary bytes as routerd's config file (--config FILE,
// TOML). routerd's own flag definitions are used, so every validator runs.
// The file is either accepted, with every setting inside its documented range,
// or rejected with one error line (routerd prints it and exits 2). Nothing else:
// no crash, no other exception, no hang.
#include "app/routerd_flags.h"
#include "app/settings.h"
#include "rpc/host_port.h"

#include <sys/mman.h>
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>

using namespace routing;

namespace {

void check(bool condition) {
  if (!condition) std::abort();
}

// An in-memory file holding the input; its /proc path is what --config gets.
class MemoryFile {
 public:
  MemoryFile(const std::uint8_t* data, std::size_t size) : fd_(memfd_create("routerd-config", 0)) {
    check(fd_ >= 0);
    for (std::size_t done = 0; done < size;) {
      ssize_t n = write(fd_, data + done, size - done);
      check(n > 0);
      done += static_cast<std::size_t>(n);
    }
  }
  ~MemoryFile() { close(fd_); }
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_); }

 private:
  int fd_;
};

void check_ranges(const app::RouterdFlags& f) {
  check(f.router.pool_size >= 1 && f.router.pool_size <= 100'000);
  check(f.router.max_pending <= 10'000'000);
  check(f.router.request_timeout.count() >= 1 && f.router.connect_timeout.count() >= 1);
  check(f.router.health_check_interval.count() >= 0);
  check(f.router.eject_after >= 1 && f.router.max_ejected_percent <= 100);
  check(f.proxy.rate_limit >= 0 && f.proxy.rate_burst >= 0);
  check(f.server.threads <= 256 && f.server.max_connections >= 1);
  check(f.server.max_frame_bytes >= 16);
  check(rpc::parse_host_port(f.server.listen) && rpc::parse_host_port(f.admin));
  check(f.router.strategy == "round-robin" || f.router.strategy == "random" ||
        f.router.strategy == "least-connections" || f.router.strategy == "pick-2" ||
        f.router.strategy == "peak-ewma");
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static std::ostringstream discarded;  // routerd's one error line per rejected file
  std::cerr.rdbuf(discarded.rdbuf());
  discarded.str({});
  MemoryFile file(data, size);
  std::string path = file.path();
  CLI::App cli{"routerd", "routerd"};
  app::RouterdFlags flags;
  app::add_routerd_flags(cli, flags);
  std::string program = "routerd", flag = "--config";
  char* argv[] = {program.data(), flag.data(), path.data()};
  int code = app::parse_settings(cli, app::declare_with(&app::add_routerd_flags), "ROUTERD_FUZZ_", 3, argv);
  check(code == -1 || code == 2);  // accepted, or one line and exit 2
  if (code == -1) check_ranges(flags);
  return 0;
}
