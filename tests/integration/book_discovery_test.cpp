// book:// (CONTRACT §12): the book's discovery service, through a stand-in
// written from its sources (support/book_services.h), spoken to in its
// transport and format.
#include "discovery/book_discovery.h"
#include "discovery/registration.h"
#include "support/book_client.h"
#include "support/book_services.h"
#include "support/eventually.h"
#include "support/test_discoveryd.h"
#include "support/watch_recorder.h"

#include <gtest/gtest.h>

namespace routing::test {
namespace {

using namespace std::chrono_literals;

discovery::DiscoveryOptions timing_out_after(std::chrono::milliseconds timeout) {
  discovery::DiscoveryOptions options;
  options.call_timeout = timeout;
  return options;
}

class BookDiscoveryTest : public ::testing::Test {
 protected:
  template <typename T>
  T sync(boost::asio::awaitable<T> work) { return run_sync(loop_.executor(), std::move(work)); }

  BookDiscoveryService book_{3000ms};  // entries expire 3 s after their last REGISTER
  app::ControlLoop loop_;
  std::unique_ptr<discovery::Discovery> discovery_ =
      discovery::make_discovery("book://" + book_.address(), loop_.executor(), timing_out_after(1s));
};

TEST_F(BookDiscoveryTest, RegistersListsAndQueriesInTheBooksFormat) {
  EXPECT_EQ(discovery_->describe(), "book://" + book_.address());
  auto announced = sync(discovery_->announce("echo", "127.0.0.1:7001", 30s, {}));
  ASSERT_TRUE(announced.ok()) << announced.error;
  EXPECT_EQ(announced.value, discovery::BookDiscovery::refresh_lease);  // refreshed every 5 s
  ASSERT_TRUE(sync(discovery_->announce("echo", "127.0.0.1:7000", 30s, {})).ok());
  EXPECT_EQ(book_.listed("echo"), (std::vector<std::string>{"127.0.0.1:7001", "127.0.0.1:7000"}));
  auto list = sync(discovery_->list("echo"));
  ASSERT_TRUE(list.ok()) << list.error;
  EXPECT_EQ(list.value.addresses, (std::vector<std::string>{"127.0.0.1:7000", "127.0.0.1:7001"}));
  EXPECT_EQ(sync(discovery_->query("echo")).value, "127.0.0.1:7001");
  // Nothing there: LIST is empty, QUERY is 5 (the book answers {address: ""}).
  EXPECT_TRUE(sync(discovery_->list("nothing")).value.addresses.empty());
  EXPECT_EQ(sync(discovery_->query("nothing")).status, Status::not_found);
  // No DEREGISTER in the book: said, and the entry expires on its own.
  auto withdrawn = sync(discovery_->withdraw("echo", "127.0.0.1:7001"));
  EXPECT_EQ(withdrawn.status, Status::unimplemented);
  EXPECT_TRUE(eventually([&] { return sync(discovery_->list("echo")).value.addresses.empty(); }, 10s));
}

TEST_F(BookDiscoveryTest, AWatchPollsAndSeesInstancesComeAndGo) {
  WatchRecorder recorder;
  auto watch = discovery_->watch("echo", recorder.callback());
  ASSERT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{}; }, 3s));
  ASSERT_EQ(book_call(book_.port(), 1, R"({name: "echo",address: "127.0.0.1\:7002"})"), "OK");  // the book's own REGISTER
  EXPECT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{"127.0.0.1:7002"}; }, 3s));
  // Not refreshed: it expires, and the watch sees it go.
  EXPECT_TRUE(eventually([&] { return recorder.last() == std::vector<std::string>{}; }, 10s));
  const auto seen = recorder.count();
  watch->stop();
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(recorder.count(), seen);  // delivers nothing once stopped
}

TEST_F(BookDiscoveryTest, ARegistrationRefreshesItsEntryEvery5sAsTheBooksServersDo) {
  const auto start = std::chrono::steady_clock::now();
  discovery::Registration registration(*discovery_, "echo", "127.0.0.1:7003", 10s, timing_out_after(1s));
  registration.start();
  ASSERT_TRUE(eventually([&] { return book_.listed("echo") == std::vector<std::string>{"127.0.0.1:7003"}; }, 3s));
  EXPECT_EQ(book_.requests(), 1u);
  ASSERT_TRUE(eventually([&] { return book_.requests() == 2; }, 8s));  // the refresh
  const auto refreshed_after = std::chrono::steady_clock::now() - start;
  EXPECT_GE(refreshed_after, 4500ms);
  EXPECT_LE(refreshed_after, 7000ms);
}

TEST_F(BookDiscoveryTest, AnUnreachableOrConfusedDiscoveryIsAClearError) {
  auto nowhere = discovery::make_discovery("book://127.0.0.1:1", loop_.executor(), timing_out_after(500ms));
  auto list = sync(nowhere->list("echo"));
  EXPECT_EQ(list.status, Status::unavailable);
  EXPECT_NE(list.error.find("the book's discovery at 127.0.0.1:1"), std::string::npos) << list.error;
  // A server that is not the book's discovery (its echo) answers nonsense.
  BookEcho echo;
  auto confused = discovery::make_discovery("book://" + echo.address(), loop_.executor(), timing_out_after(500ms));
  auto answer = sync(confused->list("echo"));
  EXPECT_EQ(answer.status, Status::internal);
  EXPECT_NE(answer.error.find("malformed LIST answer"), std::string::npos) << answer.error;
  EXPECT_THROW(discovery::make_discovery("book://a:1,b:2", loop_.executor()), std::invalid_argument);
}

}  // namespace
}  // namespace routing::test
