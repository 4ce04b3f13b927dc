#pragma once
// A connection for the pool's and the call flow's unit tests: it only
// remembers whether it is open and what a peek would find.
#include <chrono>

namespace routing::test {

struct FakeConnection {
  static constexpr std::chrono::milliseconds trusted_while_idle_for{10};
  int id = 0;
  bool open = true;
  bool peer_open = true;  // what a peek would find
  int peeks = 0;
  bool is_open() const { return open; }
  bool peer_looks_open() {
    ++peeks;
    return peer_open;
  }
  void close() { open = false; }
};

}  // namespace routing::test
