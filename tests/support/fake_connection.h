#pragma once
// A connection for the pool's and the call flow's unit tests: it only
// remembers whether it is open and what a peek would find.
#include <chrono>
#include <cstddef>

namespace routing::test {

struct FakeConnection {
  static constexpr std::chrono::milliseconds trusted_while_idle_for{10};
  int id = 0;
  bool open = true;
  bool peer_open = true;  // what a peek would find
  int peeks = 0;
  bool shared = false;    // as a tagged connection: the pool may share it
  int calls = 0;          // calls on it, when shared
  bool is_open() const { return open; }
  bool tagged() const { return shared; }
  std::size_t in_flight() const { return static_cast<std::size_t>(calls); }
  bool peer_looks_open() {
    ++peeks;
    return peer_open;
  }
  void close() { open = false; }
};

}  // namespace routing::test
