#pragma once
// Steady, bounded load for reliability tests: a few threads each make one call
// after another through `call` (a Router, a ProxyClient, ...), every call with
// the same deadline, and every outcome is kept so a test can ask, for any time
// window: how many calls, how many answered correctly, which statuses the
// failures had, and by how much the slowest call outlived its deadline.
#include <routing/reply.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace routing::test {

class LoadProbe {
 public:
  using Clock = std::chrono::steady_clock;
  // Makes one call carrying `payload`, bounded by `deadline`.
  using Call = std::function<Reply(const std::string& payload, std::chrono::milliseconds deadline)>;

  struct Outcome {
    Clock::time_point start;
    Clock::duration took;
    Status status;
    bool correct;  // status 0 and the payload echoed back unchanged
    std::string error;  // a failure's message (kept only for failures: they are rare)
  };

  struct Summary {
    std::size_t calls = 0;
    std::size_t correct = 0;
    std::size_t wrong_answers = 0;  // status 0 with a payload that is not the echo
    std::map<int, std::size_t> failures;  // by status
    Clock::duration worst_overshoot{};    // longest time past the deadline
    Outcome slowest{};                    // the call that took longest
    Clock::duration p99{};
    double success_rate() const { return calls ? double(correct) / double(calls) : 0.0; }
    std::string describe() const;
  };

  // Starts `threads` threads calling until stop() (or destruction), each
  // resting `pause` between calls (a steady rate rather than the most calls
  // possible keeps the record, and this process's memory, small).
  LoadProbe(Call call, int threads, std::chrono::milliseconds deadline,
            std::chrono::microseconds pause = std::chrono::microseconds(0));
  ~LoadProbe();
  LoadProbe(const LoadProbe&) = delete;

  void stop();
  // Calls that started in [from, to).
  Summary summary(Clock::time_point from, Clock::time_point to = Clock::time_point::max()) const;
  std::chrono::milliseconds deadline() const { return deadline_; }

 private:
  void run(int thread);

  Call call_;
  std::chrono::milliseconds deadline_;
  std::chrono::microseconds pause_;
  std::atomic<bool> stopping_{false};
  mutable std::mutex mutex_;
  std::vector<Outcome> outcomes_;
  std::vector<std::thread> threads_;
};

}  // namespace routing::test
