// DnsRefresher (host names of backends looked up off the event loop, with a
// timeout, again every refresh interval) and how System uses it, with an
// injected lookup so that nothing depends on real DNS.
#include "routing/dns_refresher.h"
#include "routing/system.h"

#include "support/eventually.h"

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <gtest/gtest.h>

#include <future>
#include <mutex>
#include <thread>

namespace routing::core {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using test::eventually;
using Answer = DnsRefresher::Answer;
using Endpoint = DnsRefresher::Endpoint;

Endpoint at(const char* ip, std::uint16_t port = 7001) { return {asio::ip::make_address(ip), port}; }

// A DNS the test controls: answers with `answer` at once, or never (nullopt).
class FakeDns {
 public:
  void answer_with(std::optional<Answer> answer) {
    std::lock_guard lock(mutex_);
    answer_ = std::move(answer);
  }
  DnsRefresher::ResolveFunction function() {
    return [this](const asio::any_io_executor&, const std::string&, std::uint16_t,
                  DnsRefresher::AnswerHandler done) -> std::function<void()> {
      std::optional<Answer> answer;
      {
        std::lock_guard lock(mutex_);
        ++lookups_;
        answer = answer_;
        if (!answer) unanswered_.push_back(done);
      }
      if (answer) done(*answer);
      return [this] { ++cancelled_; };
    };
  }
  int lookups() {
    std::lock_guard lock(mutex_);
    return lookups_;
  }
  int cancelled() const { return cancelled_.load(); }
  // Answers every lookup left unanswered so far (late).
  void answer_late(const Answer& answer) {
    std::vector<DnsRefresher::AnswerHandler> late;
    {
      std::lock_guard lock(mutex_);
      late.swap(unanswered_);
    }
    for (auto& done : late) done(answer);
  }

 private:
  std::mutex mutex_;
  std::optional<Answer> answer_;
  int lookups_ = 0;
  std::vector<DnsRefresher::AnswerHandler> unanswered_;
  std::atomic<int> cancelled_{0};
};

// What a refresher reported, readable from the test's thread.
struct Reports {
  std::mutex mutex;
  std::vector<Endpoint> published;
  std::vector<std::string> failures;

  DnsRefresher::Publish publish() {
    return [this](const Endpoint& e) {
      std::lock_guard lock(mutex);
      published.push_back(e);
    };
  }
  DnsRefresher::Failed failed() {
    return [this](const std::string& error) {
      std::lock_guard lock(mutex);
      failures.push_back(error);
    };
  }
  std::optional<Endpoint> last() {
    std::lock_guard lock(mutex);
    return published.empty() ? std::nullopt : std::optional(published.back());
  }
  std::size_t published_count() {
    std::lock_guard lock(mutex);
    return published.size();
  }
  std::size_t failure_count() {
    std::lock_guard lock(mutex);
    return failures.size();
  }
};

class RunningLoop {
 public:
  ~RunningLoop() {
    guard_.reset();
    ctx_.stop();
    runner_.join();
  }
  asio::any_io_executor executor() { return ctx_.get_executor(); }
  // True if the loop runs a task posted now within `within` (it is not blocked).
  bool responsive(std::chrono::milliseconds within = 1000ms) {
    std::promise<void> ran;
    asio::post(ctx_, [&ran] { ran.set_value(); });
    return ran.get_future().wait_for(within) == std::future_status::ready;
  }

 private:
  asio::io_context ctx_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(ctx_);
  std::thread runner_{[this] { ctx_.run(); }};
};

TEST(DnsRefresher, PicksUpAChangedAddressAfterTheRefreshIntervalAndKeepsItOnFailure) {
  RunningLoop loop;
  FakeDns dns;
  Reports reports;
  dns.answer_with(Answer{at("10.0.0.1"), {}});
  auto refresher = DnsRefresher::start(loop.executor(), "db.example", 7001, {.refresh = 50ms, .timeout = 1000ms},
                                       dns.function(), reports.publish(), reports.failed());
  ASSERT_TRUE(eventually([&] { return reports.last() == at("10.0.0.1"); }));
  dns.answer_with(Answer{at("10.0.0.2"), {}});
  ASSERT_TRUE(eventually([&] { return reports.last() == at("10.0.0.2"); })) << "the new address was not picked up";
  dns.answer_with(Answer{{}, "server failure"});
  auto published = reports.published_count();
  ASSERT_TRUE(eventually([&] { return reports.failure_count() >= 2; }));
  EXPECT_EQ(reports.published_count(), published) << "a failed refresh must publish nothing";
  EXPECT_EQ(reports.last(), at("10.0.0.2"));
  refresher->stop();
}

TEST(DnsRefresher, WithoutARefreshIntervalLooksUpOnce) {
  RunningLoop loop;
  FakeDns dns;
  Reports reports;
  dns.answer_with(Answer{at("10.0.0.1"), {}});
  auto refresher = DnsRefresher::start(loop.executor(), "db.example", 7001, {.refresh = 0ms, .timeout = 1000ms},
                                       dns.function(), reports.publish(), reports.failed());
  ASSERT_TRUE(eventually([&] { return reports.published_count() == 1; }));
  std::this_thread::sleep_for(100ms);
  EXPECT_EQ(dns.lookups(), 1);
  refresher->stop();
}

TEST(DnsRefresher, ALookupThatNeverAnswersEndsAfterTheTimeoutWithoutBlockingTheLoop) {
  RunningLoop loop;
  FakeDns dns;  // never answers
  Reports reports;
  auto started = std::chrono::steady_clock::now();
  auto refresher = DnsRefresher::start(loop.executor(), "hung.example", 7001, {.refresh = 60s, .timeout = 200ms},
                                       dns.function(), reports.publish(), reports.failed());
  EXPECT_TRUE(loop.responsive());
  ASSERT_TRUE(eventually([&] { return reports.failure_count() == 1; }, 5000ms));
  EXPECT_GE(std::chrono::steady_clock::now() - started, 200ms);
  EXPECT_NE(reports.failures.at(0).find("no answer within 200 ms"), std::string::npos) << reports.failures.at(0);
  EXPECT_EQ(dns.cancelled(), 1) << "the timed-out lookup is cancelled";
  // Its answer, arriving after all, is ignored.
  dns.answer_late(Answer{at("10.0.0.9"), {}});
  EXPECT_TRUE(loop.responsive());
  EXPECT_EQ(reports.published_count(), 0u);
  refresher->stop();
}

// Stopped in the middle of a lookup that never answers: nothing stays
// armed, so the loop runs out of work (RouterCore::request_stop relies on it).
TEST(DnsRefresher, StopLeavesTheLoopWithoutWork) {
  asio::io_context ctx;
  FakeDns dns;  // never answers
  Reports reports;
  auto refresher = DnsRefresher::start(ctx.get_executor(), "hung.example", 7001, {.refresh = 50ms, .timeout = 60s},
                                       dns.function(), reports.publish(), reports.failed());
  ctx.run_for(100ms);
  ASSERT_EQ(dns.lookups(), 1);
  refresher->stop();
  refresher.reset();
  ctx.restart();
  auto ran = std::async(std::launch::async, [&] { ctx.run(); });
  EXPECT_EQ(ran.wait_for(5s), std::future_status::ready) << "a timer of the refresher is still armed";
  if (ran.wait_for(0s) != std::future_status::ready) ctx.stop();
  EXPECT_EQ(reports.failure_count(), 0u);
}

TEST(DnsRefresher, AsioResolveFindsLocalhostAndRejectsAnInvalidName) {
  RunningLoop loop;
  Reports found, missing;
  auto good = DnsRefresher::start(loop.executor(), "localhost", 7001, {.refresh = 0ms, .timeout = 5000ms},
                                  DnsRefresher::asio_resolve(), found.publish(), found.failed());
  auto bad = DnsRefresher::start(loop.executor(), "does-not-exist.invalid", 7001, {.refresh = 0ms, .timeout = 5000ms},
                                 DnsRefresher::asio_resolve(), missing.publish(), missing.failed());
  ASSERT_TRUE(eventually([&] { return found.published_count() == 1; }, 6000ms));
  EXPECT_TRUE(found.last()->address().is_loopback());
  EXPECT_EQ(found.last()->port(), 7001);
  ASSERT_TRUE(eventually([&] { return missing.failure_count() == 1; }, 6000ms));
  EXPECT_EQ(missing.published_count(), 0u);
  good->stop();
  bad->stop();
}

RouterOptions dns_options(std::chrono::milliseconds refresh, std::chrono::milliseconds timeout) {
  RouterOptions options;
  options.discovery = "static://echo=127.0.0.1:1";
  options.dns_refresh = refresh;
  options.dns_timeout = timeout;
  return options;
}

std::shared_ptr<Backend> backend_at(System& system, const std::string& address) {
  for (const auto& backend : system.backends()->backends) {
    if (backend->address == address) return backend;
  }
  return nullptr;
}

// An unresolved host name is not picked; the literal IP next to it serves
// at once (the system is ready without waiting for the lookup).
TEST(SystemDns, AHostNameThatDoesNotResolveIsNeverPickedAndHoldsNothingUp) {
  RunningLoop loop;
  FakeDns dns;  // never answers
  auto options = dns_options(30s, 8s);
  LiveOptions live{options};
  auto system = std::make_shared<System>("echo", live, Strategy::round_robin);
  system->resolve_host_names_on(loop.executor(), dns.function());
  auto start = std::chrono::steady_clock::now();
  system->set_backends({"127.0.0.1:1", "hung.example:7001"});
  EXPECT_LT(std::chrono::steady_clock::now() - start, options.dns_timeout / 4) << "applying the set waited for DNS";
  EXPECT_TRUE(system->ready());
  auto list = system->backends();
  for (int i = 0; i < 10; ++i) EXPECT_EQ(system->pick(*list, {})->address, "127.0.0.1:1");
  auto stats = system->stats();
  ASSERT_EQ(stats.backends.size(), 2u);
  EXPECT_TRUE(stats.backends[0].resolved);
  EXPECT_FALSE(stats.backends[1].resolved);
  EXPECT_TRUE(eventually([&] { return dns.lookups() == 1; }));
  system->stop_resolving();
}

// A first set of host names only is ready once a lookup ended: its first
// calls wait for the address instead of failing with 14.
TEST(SystemDns, AFirstSetOfHostNamesIsReadyWhenTheirLookupEnds) {
  RunningLoop loop;
  FakeDns dns;
  auto options = dns_options(30s, 60s);
  LiveOptions live{options};
  auto system = std::make_shared<System>("echo", live, Strategy::round_robin);
  system->resolve_host_names_on(loop.executor(), dns.function());
  system->set_backends({"db.example:7001"});
  EXPECT_FALSE(system->ready());
  ASSERT_TRUE(eventually([&] { return dns.lookups() == 1; }));
  dns.answer_late(Answer{at("10.0.0.1"), {}});
  ASSERT_TRUE(eventually([&] { return system->ready(); }));
  auto backend = backend_at(*system, "db.example:7001");
  EXPECT_EQ(backend->endpoint.get(), at("10.0.0.1"));
  EXPECT_TRUE(backend->available(std::chrono::steady_clock::now()));
  system->stop_resolving();
}

TEST(SystemDns, ABackendFollowsItsNewAddressAndKeepsTheLastOneWhenALookupFails) {
  RunningLoop loop;
  FakeDns dns;
  dns.answer_with(Answer{at("10.0.0.1"), {}});
  auto options = dns_options(50ms, 1000ms);
  LiveOptions live{options};
  auto system = std::make_shared<System>("echo", live, Strategy::round_robin);
  system->resolve_host_names_on(loop.executor(), dns.function());
  system->set_backends({"db.example:7001"});
  auto backend = backend_at(*system, "db.example:7001");
  ASSERT_TRUE(eventually([&] { return backend->endpoint.get() == at("10.0.0.1"); }));
  dns.answer_with(Answer{at("10.0.0.2"), {}});
  ASSERT_TRUE(eventually([&] { return backend->endpoint.get() == at("10.0.0.2"); }));
  dns.answer_with(Answer{{}, "server failure"});
  auto lookups = dns.lookups();
  ASSERT_TRUE(eventually([&] { return dns.lookups() >= lookups + 2; }));
  EXPECT_EQ(backend->endpoint.get(), at("10.0.0.2"));
  EXPECT_TRUE(backend->available(std::chrono::steady_clock::now()));
  system->stop_resolving();
}

TEST(SystemDns, ABackendGoneFromDiscoveryIsNoLongerLookedUp) {
  RunningLoop loop;
  FakeDns dns;
  dns.answer_with(Answer{at("10.0.0.1"), {}});
  auto options = dns_options(20ms, 1000ms);
  LiveOptions live{options};
  auto system = std::make_shared<System>("echo", live, Strategy::round_robin);
  system->resolve_host_names_on(loop.executor(), dns.function());
  system->set_backends({"db.example:7001"});
  ASSERT_TRUE(eventually([&] { return dns.lookups() >= 2; }));
  system->set_backends({"127.0.0.1:1"});
  EXPECT_TRUE(loop.responsive());  // its stop has run
  auto lookups = dns.lookups();
  std::this_thread::sleep_for(200ms);
  EXPECT_EQ(dns.lookups(), lookups);
  system->stop_resolving();
}

}  // namespace
}  // namespace routing::core
