#pragma once
// An echod and a routerd routing "echo" to it through static discovery: the
// smallest real proxy setup, for tests about routerd's own behaviour.
// Needs ECHOD_PATH and ROUTERD_PATH defined by the test target.
#include "support/process.h"

#include <gtest/gtest.h>

#include <memory>
#include <string>
#include <vector>

namespace routing::test {

struct StaticProxy {
  explicit StaticProxy(std::vector<std::string> flags = {}) {
    echod = std::make_unique<Process>(ECHOD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0"});
    auto echod_port = echod->wait_listening().value_or(0);
    std::vector<std::string> args{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0",
                                  "--discovery", "static://echo=127.0.0.1:" + std::to_string(echod_port),
                                  "--health-check-interval-ms", "0"};
    args.insert(args.end(), flags.begin(), flags.end());
    routerd = std::make_unique<Process>(ROUTERD_PATH, args);
    port = routerd->wait_listening().value_or(0);
    EXPECT_NE(port, 0) << routerd->log();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port); }

  std::unique_ptr<Process> echod, routerd;
  std::uint16_t port = 0;
};

}  // namespace routing::test
