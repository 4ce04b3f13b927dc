#pragma once
// How `calls` WHOAMI calls (procedure 3) through a router spread over the
// backends: address -> calls it answered.
#include <routing/router.h>

#include <gtest/gtest.h>

#include <map>
#include <string>

namespace routing::test {

inline std::map<std::string, int> spread(Router& router, int calls, const std::string& system = "echo") {
  std::map<std::string, int> seen;
  for (int i = 0; i < calls; ++i) {
    Reply reply = router.call(system, 3, "");
    EXPECT_TRUE(reply.ok()) << reply.payload;
    ++seen[reply.payload];
  }
  return seen;
}

}  // namespace routing::test
