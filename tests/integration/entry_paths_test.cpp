// One behaviour suite over every entry path of a call: Router::call
// (blocking), Router::async_call, routerd (ROUTE frames on its port) and
// ProxyClient (through routerd). A behaviour that holds in one mode and not
// in another fails here. routerd runs in process (its service and core on
// an rpc::Server), the backends are in-process echo servers.
#include <routing/proxy_client.h>
#include <routing/router.h>

#include "proxy/route_args.h"
#include "proxy/routerd_service.h"
#include "routing/router_core.h"
#include "rpc/blocking_client.h"
#include "rpc/server.h"
#include "support/eventually.h"
#include "support/test_backend.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <gtest/gtest.h>

#include <latch>
#include <thread>

namespace routing::test {
namespace {

namespace asio = boost::asio;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

enum class Entry { blocking, async, routerd, proxy_client };

std::string entry_name(const ::testing::TestParamInfo<Entry>& info) {
  switch (info.param) {
    case Entry::blocking: return "Blocking";
    case Entry::async: return "Async";
    case Entry::routerd: return "Routerd";
    case Entry::proxy_client: return "ProxyClient";
  }
  return "Unknown";
}

// One way in. Every call(...) may be made from any thread at once.
class Caller {
 public:
  virtual ~Caller() = default;
  virtual Reply call(const std::string& system, std::uint32_t procedure, const std::string& payload,
                     const CallOptions& options = {}) = 0;
};

class BlockingCaller : public Caller {
 public:
  explicit BlockingCaller(const RouterOptions& options) : router_(options) {}
  Reply call(const std::string& system, std::uint32_t procedure, const std::string& payload,
             const CallOptions& options) override {
    return router_.call(system, procedure, payload, options);
  }

 private:
  Router router_;
};

class AsyncCaller : public Caller {
 public:
  explicit AsyncCaller(const RouterOptions& options) : router_(options) {}
  Reply call(const std::string& system, std::uint32_t procedure, const std::string& payload,
             const CallOptions& options) override {
    asio::io_context ctx;  // the caller's own loop: async_call resumes there
    Reply reply;
    asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
      reply = co_await router_.async_call(system, procedure, payload, options);
    }, asio::detached);
    ctx.run();
    return reply;
  }

 private:
  Router router_;
};

// routerd's service and core on one server worker, as the program wires them.
class InProcessRouterd {
 public:
  explicit InProcessRouterd(const RouterOptions& options) : service_(proxy::ProxyOptions{}) {
    rpc::ServerOptions server_options;
    server_options.threads = 1;
    server_ = std::make_unique<rpc::Server>(server_options);
    service_.register_procedures(*server_);
    server_->start();
    core_ = std::make_unique<core::RouterCore>(options, server_->executors());
    core_->start();
    service_.attach(*core_);
  }
  ~InProcessRouterd() {
    core_->stop();
    server_->stop();
    server_->wait();
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(server_->local_endpoint().port()); }

 private:
  proxy::RouterdService service_;
  std::unique_ptr<rpc::Server> server_;
  std::unique_ptr<core::RouterCore> core_;
};

// ROUTE frames on a connection of the caller's own.
class RouterdCaller : public Caller {
 public:
  explicit RouterdCaller(const RouterOptions& options) : routerd_(options) {}
  Reply call(const std::string& system, std::uint32_t procedure, const std::string& payload,
             const CallOptions& options) override {
    rpc::BlockingClient client(routerd_.address(), 10s);
    Reply answer = client.call(proxy::route_procedure, proxy::route_args_json(system, procedure, payload, options));
    return proxy::unwrap_answer(answer);
  }

 private:
  InProcessRouterd routerd_;
};

class ProxyClientCaller : public Caller {
 public:
  explicit ProxyClientCaller(const RouterOptions& options) : routerd_(options), proxy_(proxy_options()) {}
  Reply call(const std::string& system, std::uint32_t procedure, const std::string& payload,
             const CallOptions& options) override {
    return proxy_.call(system, procedure, payload, options);
  }

 private:
  ProxyClientOptions proxy_options() const {
    ProxyClientOptions options;
    options.address = routerd_.address();
    options.connections = 16;  // a connection per concurrent caller of these tests
    return options;
  }
  InProcessRouterd routerd_;
  ProxyClient proxy_;
};

class EntryPaths : public ::testing::TestWithParam<Entry> {
 protected:
  static RouterOptions options_for(const std::vector<TestBackend*>& backends) {
    RouterOptions options;
    options.discovery = static_url(backends);
    options.health_check_interval = 0ms;
    return options;
  }
  std::unique_ptr<Caller> caller(const RouterOptions& options) {
    switch (GetParam()) {
      case Entry::blocking: return std::make_unique<BlockingCaller>(options);
      case Entry::async: return std::make_unique<AsyncCaller>(options);
      case Entry::routerd: return std::make_unique<RouterdCaller>(options);
      case Entry::proxy_client: return std::make_unique<ProxyClientCaller>(options);
    }
    return nullptr;
  }
  // `n` calls at once, one thread each.
  static std::vector<Reply> at_once(Caller& caller, int n, std::uint32_t procedure, const std::string& payload,
                                    const CallOptions& options = {}) {
    std::vector<Reply> replies(n);
    std::vector<std::thread> threads;
    std::latch ready(n);  // all threads exist before the first call goes
    for (int i = 0; i < n; ++i) {
      threads.emplace_back([&, i] {
        ready.arrive_and_wait();
        replies[i] = caller.call("echo", procedure, payload, options);
      });
    }
    for (auto& thread : threads) thread.join();
    return replies;
  }
};

// True once `n` tracked calls have started on the two backends together.
bool started(const TestBackend& a, const TestBackend& b, std::size_t n) {
  return eventually([&] { return a.served() + b.served() >= n; });
}

TEST_P(EntryPaths, RoutesACallAndPassesTheBackendsStatusThrough) {
  TestBackend backend;
  auto via = caller(options_for({&backend}));
  const std::string bytes = "line1\nline2:with\\slash\r";
  Reply reply = via->call("echo", 1, bytes);
  EXPECT_TRUE(reply.ok()) << reply.payload;
  EXPECT_EQ(reply.payload, bytes);
  EXPECT_EQ(via->call("echo", 99, "").status, Status::unimplemented);
}

TEST_P(EntryPaths, AnswersNotFoundForAnUnknownSystemAndInvalidForAnEmptyName) {
  TestBackend backend;
  auto via = caller(options_for({&backend}));
  EXPECT_EQ(via->call("ghost", 1, "x").status, Status::not_found);
  EXPECT_EQ(via->call("", 1, "x").status, Status::invalid_argument);
}

TEST_P(EntryPaths, TheDeadlineEndsASlowCallWithStatus4) {
  TestBackend backend;
  auto via = caller(options_for({&backend}));
  auto start = Clock::now();
  Reply reply = via->call("echo", tracked_procedure, "3000:slow", CallOptions{.timeout = 200ms});
  EXPECT_EQ(reply.status, Status::deadline_exceeded) << reply.payload;
  EXPECT_LT(Clock::now() - start, 2s);
  EXPECT_TRUE(via->call("echo", 1, "after").ok());
}

TEST_P(EntryPaths, BoundsCallsInFlightAndRefusesPastMaxPending) {
  TestBackend backend;
  auto options = options_for({&backend});
  options.pool_size = 2;
  options.max_pending = 2;
  auto via = caller(options);
  ASSERT_TRUE(via->call("echo", 1, "warm").ok());
  // Long calls: all eight arrive while the first two still run.
  auto replies = at_once(*via, 8, tracked_procedure, "1500:x");
  int ok = 0, refused = 0;
  for (const auto& reply : replies) {
    if (reply.ok()) ++ok;
    else if (reply.status == Status::resource_exhausted) ++refused;
    else ADD_FAILURE() << "status " << static_cast<int>(reply.status) << ": " << reply.payload;
  }
  EXPECT_LE(backend.max_in_flight(), 2u);  // never more than pool_size at once
  EXPECT_GE(ok, 2);
  EXPECT_GE(refused, 1);  // at most 2 running and 2 waiting of 8 at once
  EXPECT_EQ(ok + refused, 8);
}

TEST_P(EntryPaths, ARefusedConnectionIsResentToAnotherBackend) {
  TestBackend live, dead;
  auto options = options_for({&dead, &live});
  dead.kill();
  auto via = caller(options);
  for (int i = 0; i < 10; ++i) {
    Reply reply = via->call("echo", 1, "x");
    EXPECT_TRUE(reply.ok()) << reply.payload;
  }
}

TEST_P(EntryPaths, ACallInFlightWhenItsBackendDiesGets14UnlessIdempotent) {
  for (bool idempotent : {false, true}) {
    TestBackend a, b;
    auto via = caller(options_for({&a, &b}));
    std::vector<Reply> replies;
    std::thread calls([&] {
      replies = at_once(*via, 4, tracked_procedure, "2000:x", CallOptions{.timeout = {}, .idempotent = idempotent});
    });
    EXPECT_TRUE(started(a, b, 4));
    a.kill();
    calls.join();
    int unavailable = 0;
    for (const auto& reply : replies) {
      if (reply.ok()) continue;
      EXPECT_EQ(reply.status, Status::unavailable) << reply.payload;
      ++unavailable;
    }
    // Round-robin gave `a` two of the four; resent (to b) only if idempotent.
    EXPECT_EQ(unavailable, idempotent ? 0 : 2) << (idempotent ? "idempotent" : "not idempotent");
  }
}

INSTANTIATE_TEST_SUITE_P(EveryEntry, EntryPaths,
                         ::testing::Values(Entry::blocking, Entry::async, Entry::routerd, Entry::proxy_client),
                         entry_name);

}  // namespace
}  // namespace routing::test
