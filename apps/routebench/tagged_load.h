#pragma once
// routebench --in-flight-per-connection N: one connection keeps N tagged
// calls (CONTRACT §8) in flight, closed loop: each answer sends the next
// call at once, and every call whose answer arrived in one read goes out in
// one send, as a multiplexing client would.
#include "rpc/tls/tls_context.h"

#include <chrono>
#include <memory>
#include <cstdint>
#include <string>
#include <vector>

namespace routing::bench {

struct TaggedLoad {
  std::string address;
  std::uint32_t procedure = 1;
  std::string payload;  // unescaped
  unsigned in_flight = 1;
  std::shared_ptr<const rpc::tls::Context> tls;  // null: plain TCP
};

struct LoadCounts {
  std::vector<double> latencies_us;
  std::uint64_t ok = 0, failed = 0;
};

// Calls until `end`, counting the calls sent at or after `measure_from`.
// Throws when it cannot connect; a connection that stops answering for 10 s
// or closes ends the run, its calls in flight counted as failed.
LoadCounts run_tagged_connection(const TaggedLoad& load, std::chrono::steady_clock::time_point measure_from,
                                 std::chrono::steady_clock::time_point end);

}  // namespace routing::bench
