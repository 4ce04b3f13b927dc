#pragma once
// Polls a condition until it holds or a timeout passes: for tests that wait
// on something asynchronous without sleeping a fixed, hopeful time.
#include <chrono>
#include <thread>

namespace routing::test {

template <typename Condition>
bool eventually(Condition condition, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return condition();
}

}  // namespace routing::test
