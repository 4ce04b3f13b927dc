#include "open_loop_outcomes.h"

#include <algorithm>
#include <cstdio>

namespace routing::bench {
namespace {

double micros(std::chrono::steady_clock::duration d) { return std::chrono::duration<double, std::micro>(d).count(); }

double percentile(std::vector<double> values, double q) {
  if (values.empty()) return 0;
  std::size_t at = std::min(values.size() - 1, static_cast<std::size_t>(q * static_cast<double>(values.size())));
  std::nth_element(values.begin(), values.begin() + static_cast<std::ptrdiff_t>(at), values.end());
  return values[at];
}

double max_of(const std::vector<double>& values) {
  return values.empty() ? 0 : *std::max_element(values.begin(), values.end());
}

unsigned long long ull(std::uint64_t n) { return static_cast<unsigned long long>(n); }

}  // namespace

void OpenLoopOutcomes::sent(Clock::time_point arrival, Clock::time_point now) {
  ++in_flight_;
  if (!measured(arrival)) return;
  ++measured_in_flight_;
  ++arrivals_;
  lateness_us_.push_back(micros(now - arrival));
}

void OpenLoopOutcomes::finished(Clock::time_point arrival, Clock::time_point now, const Reply& reply, bool answered) {
  --in_flight_;
  if (!measured(arrival)) return;
  --measured_in_flight_;
  // Latency from the arrival, not from the send: a late generator must not
  // hide its own delay (coordinated omission).
  const auto took = now - arrival;
  switch (reply.status) {
    case Status::ok:
      if (took <= timeout_) {
        ++ok_;
        admitted_us_.push_back(micros(took));
      } else {
        ++late_ok_;
      }
      break;
    case Status::resource_exhausted:
      // routerd's own bound on tagged calls per connection is the
      // generator's problem (too few --connections), not shedding.
      if (reply.payload.find("on this connection") != std::string::npos) {
        ++connection_limited_;
      } else {
        ++shed_;
        shed_us_.push_back(micros(took));
      }
      break;
    case Status::deadline_exceeded:
      ++deadline_exceeded_;
      if (!answered) ++unanswered_;
      break;
    default:
      ++other_[static_cast<int>(reply.status)];
  }
}

void OpenLoopOutcomes::give_up_unanswered() {
  deadline_exceeded_ += measured_in_flight_;
  unanswered_ += measured_in_flight_;
  measured_in_flight_ = 0;
}

void OpenLoopOutcomes::print(double duration_s, bool json, const std::string& what) const {
  auto per_s = [duration_s](std::uint64_t n) { return static_cast<double>(n) / duration_s; };
  const double p50 = percentile(admitted_us_, 0.5), p99 = percentile(admitted_us_, 0.99),
               p999 = percentile(admitted_us_, 0.999);
  const double shed50 = percentile(shed_us_, 0.5), shed99 = percentile(shed_us_, 0.99);
  const double late_max = max_of(lateness_us_), late99 = percentile(lateness_us_, 0.99);
  std::string others;
  for (const auto& [status, count] : other_) {
    others += (others.empty() ? "" : json ? "," : ", ") +
              (json ? "\"" + std::to_string(status) + "\":" + std::to_string(count)
                    : std::to_string(count) + " x status " + std::to_string(status));
  }
  if (json) {
    std::printf(
        "{\"mode\":\"open_loop\",\"offered_per_s\":%.1f,\"goodput_per_s\":%.1f,\"ok\":%llu,\"shed\":%llu,"
        "\"shed_per_s\":%.1f,\"deadline_exceeded\":%llu,\"deadline_exceeded_per_s\":%.1f,\"unanswered\":%llu,"
        "\"late_ok\":%llu,\"connection_limited\":%llu,\"p50_us\":%.1f,\"p99_us\":%.1f,\"p999_us\":%.1f,"
        "\"shed_p50_us\":%.1f,\"shed_p99_us\":%.1f,\"max_lateness_us\":%.1f,\"p99_lateness_us\":%.1f,"
        "\"other_failures\":{%s}}\n",
        per_s(arrivals_), per_s(ok_), ull(ok_), ull(shed_), per_s(shed_), ull(deadline_exceeded_),
        per_s(deadline_exceeded_), ull(unanswered_), ull(late_ok_), ull(connection_limited_), p50, p99, p999, shed50,
        shed99, late_max, late99, others.c_str());
    return;
  }
  std::printf(
      "open loop, %s, %.1f s: offered %.1f calls/s; goodput %.1f/s (%llu ok in time, %llu ok too late); "
      "shed %.1f/s (%llu); deadline exceeded %llu (%llu unanswered); other failures: %s%s; "
      "admitted latency p50 %.0f us, p99 %.0f us, p99.9 %.0f us; shed answers p50 %.0f us, p99 %.0f us; "
      "generator late by at most %.0f us (p99 %.0f us)\n",
      what.c_str(), duration_s, per_s(arrivals_), per_s(ok_), ull(ok_), ull(late_ok_), per_s(shed_), ull(shed_),
      ull(deadline_exceeded_), ull(unanswered_), others.empty() ? "none" : others.c_str(),
      connection_limited_ ? (", " + std::to_string(connection_limited_) +
                             " refused by routerd's bound on calls per connection (add --connections)").c_str()
                          : "",
      p50, p99, p999, shed50, shed99, late_max, late99);
}

}  // namespace routing::bench
