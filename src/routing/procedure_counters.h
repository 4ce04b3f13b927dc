#pragma once
// A system's calls counted by procedure and status code, with a bounded
// number of procedures (the `procedure` label of
// routing_calls_by_procedure_total: a client choosing procedure ids at
// random must not grow the scrape or the memory). The first
// `labelled_procedures` ids a system sees get their own counters, for good;
// calls of later ids are counted together as "other". Recording is a scan of
// at most that many atomic pointers and one relaxed increment; an id's
// counters are allocated once, at its first call.
#include "routing/histogram.h"

#include <routing/stats.h>

#include <array>
#include <atomic>
#include <cstdint>
#include <memory>

namespace routing::core {

class ProcedureCounters {
 public:
  static constexpr std::size_t labelled_procedures = 16;

  ProcedureCounters() = default;
  ProcedureCounters(const ProcedureCounters&) = delete;
  ProcedureCounters& operator=(const ProcedureCounters&) = delete;
  ~ProcedureCounters() {
    for (auto& slot : slots_) delete slot.load(std::memory_order_acquire);
  }

  void add(std::uint32_t procedure, int status) { counters_of(procedure).add(status); }

  // The labelled procedures in the order first seen, then the others (only
  // when there were any).
  std::vector<ProcedureCalls> snapshot() const {
    std::vector<ProcedureCalls> out;
    for (const auto& slot : slots_) {
      const Entry* entry = slot.load(std::memory_order_acquire);
      if (!entry) break;  // slots fill in order
      out.push_back({entry->procedure, entry->calls.snapshot()});
    }
    auto others = others_.snapshot();
    if (!others.empty()) out.push_back({std::nullopt, std::move(others)});
    return out;
  }

 private:
  struct Entry {
    std::uint32_t procedure = 0;
    StatusCounters calls;
  };

  StatusCounters& counters_of(std::uint32_t procedure) {
    for (auto& slot : slots_) {
      Entry* entry = slot.load(std::memory_order_acquire);
      if (!entry) {
        auto fresh = std::make_unique<Entry>();
        fresh->procedure = procedure;
        // Lost the race: `entry` is now the winner's (perhaps this very id).
        if (slot.compare_exchange_strong(entry, fresh.get(), std::memory_order_acq_rel)) return fresh.release()->calls;
      }
      if (entry->procedure == procedure) return entry->calls;
    }
    return others_;
  }

  std::array<std::atomic<Entry*>, labelled_procedures> slots_{};
  StatusCounters others_;
};

}  // namespace routing::core
