#pragma once
// What routebench's open loop counts (open_loop.h): every call by its
// outcome, and how late the generator sent it. Only calls that arrive in the
// measured window count (after the warm-up, before the end). Used on one
// thread (the generator's loop), so nothing is locked.
#include <routing/reply.h>

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace routing::bench {

class OpenLoopOutcomes {
 public:
  using Clock = std::chrono::steady_clock;

  explicit OpenLoopOutcomes(Clock::duration timeout) : timeout_(timeout) {}
  void set_window(Clock::time_point measure_from, Clock::time_point end) {
    measure_from_ = measure_from;
    end_ = end;
  }

  // A call that arrived at `arrival` is sent at `now` (now - arrival: how
  // late the generator was).
  void sent(Clock::time_point arrival, Clock::time_point now);
  // Its outcome. `answered`: the status came from the peer, not from our own
  // connection giving up (at the deadline, or when it broke).
  void finished(Clock::time_point arrival, Clock::time_point now, const Reply& reply, bool answered);
  // The run is over: calls still unanswered count as timed out.
  void give_up_unanswered();

  std::size_t in_flight() const { return in_flight_; }

  // The report: one text line, or one JSON object (`json`), on stdout.
  // `what` names the mode in the text line ("proxy, 16 connections").
  void print(double duration_s, bool json, const std::string& what) const;
  // Calls in the window that got status 0 in time.
  std::uint64_t ok() const { return ok_; }

 private:
  bool measured(Clock::time_point arrival) const { return arrival >= measure_from_ && arrival < end_; }

  Clock::duration timeout_;
  Clock::time_point measure_from_, end_;
  std::size_t in_flight_ = 0, measured_in_flight_ = 0;
  std::uint64_t arrivals_ = 0;
  std::uint64_t ok_ = 0;
  std::uint64_t late_ok_ = 0;            // status 0 after the deadline: not goodput
  std::uint64_t shed_ = 0;               // status 8 from the router or backend
  std::uint64_t connection_limited_ = 0; // status 8 "too many calls in flight on this connection": ours, not the router's
  std::uint64_t deadline_exceeded_ = 0;  // status 4, answered or not
  std::uint64_t unanswered_ = 0;         // of those, nothing came back by the deadline
  std::map<int, std::uint64_t> other_;   // every other status
  std::vector<double> admitted_us_, shed_us_, lateness_us_;
};

}  // namespace routing::bench
