#include "support/load_probe.h"

#include <algorithm>
#include <sstream>

namespace routing::test {

LoadProbe::LoadProbe(Call call, int threads, std::chrono::milliseconds deadline, std::chrono::microseconds pause)
    : call_(std::move(call)), deadline_(deadline), pause_(pause) {
  for (int i = 0; i < threads; ++i) threads_.emplace_back([this, i] { run(i); });
}

LoadProbe::~LoadProbe() { stop(); }

void LoadProbe::stop() {
  stopping_ = true;
  for (auto& thread : threads_) {
    if (thread.joinable()) thread.join();
  }
}

void LoadProbe::run(int thread) {
  for (std::uint64_t n = 0; !stopping_; ++n) {
    std::string payload = "probe " + std::to_string(thread) + "/" + std::to_string(n);
    auto start = Clock::now();
    Reply reply = call_(payload, deadline_);
    Outcome outcome{start, Clock::now() - start, reply.status, reply.ok() && reply.payload == payload,
                    reply.ok() ? std::string() : std::move(reply.payload)};
    {
      std::lock_guard lock(mutex_);
      outcomes_.push_back(std::move(outcome));
    }
    if (pause_.count() > 0) std::this_thread::sleep_for(pause_);
  }
}

LoadProbe::Summary LoadProbe::summary(Clock::time_point from, Clock::time_point to) const {
  Summary s;
  std::vector<Clock::duration> took;
  std::lock_guard lock(mutex_);
  for (const auto& o : outcomes_) {
    if (o.start < from || o.start >= to) continue;
    ++s.calls;
    took.push_back(o.took);
    s.worst_overshoot = std::max(s.worst_overshoot, o.took - deadline_);
    if (o.took > s.slowest.took) s.slowest = o;
    if (o.correct) {
      ++s.correct;
    } else if (o.status == Status::ok) {
      ++s.wrong_answers;
    } else {
      ++s.failures[static_cast<int>(o.status)];
    }
  }
  if (!took.empty()) {
    auto at = took.begin() + static_cast<std::ptrdiff_t>((took.size() - 1) * 99 / 100);
    std::nth_element(took.begin(), at, took.end());
    s.p99 = *at;
  }
  return s;
}

std::string LoadProbe::Summary::describe() const {
  using std::chrono::duration_cast;
  using std::chrono::microseconds;
  std::ostringstream out;
  out << calls << " calls, " << correct << " correct (" << 100.0 * success_rate() << "%), p99 "
      << duration_cast<microseconds>(p99).count() / 1000.0 << " ms, worst overshoot of the deadline "
      << duration_cast<microseconds>(worst_overshoot).count() / 1000.0 << " ms";
  if (wrong_answers) out << ", " << wrong_answers << " WRONG ANSWERS";
  for (auto [status, count] : failures) out << ", status " << status << ": " << count;
  return out.str();
}

}  // namespace routing::test
