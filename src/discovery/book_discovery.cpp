#include "discovery/book_discovery.h"

#include "book/book_call.h"
#include "book/normalization.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>

namespace routing::discovery {
namespace asio = boost::asio;

namespace {

constexpr std::uint32_t register_procedure = 1;
constexpr std::uint32_t query_procedure = 2;
constexpr std::uint32_t list_procedure = 3;

std::string name_args(const std::string& name) { return book::Writer().string("name", name).finish(); }

// One call to the book's discovery at `address`.
asio::awaitable<Reply> call_at(asio::any_io_executor executor, std::string address, std::chrono::milliseconds timeout,
                               std::uint32_t procedure, std::string payload) {
  auto done = co_await book::exchange(executor, std::move(address), procedure, std::move(payload),
                                      {.timeout = timeout, .connect_timeout = timeout});
  if (!done.reply.ok()) done.reply.payload = "the book's discovery at " + done.reply.payload;
  co_return std::move(done.reply);
}

template <typename T>
Result<T> malformed(std::string_view what, const Reply& reply) {
  return Result<T>::failure(Status::internal,
                            "the book's discovery sent a malformed " + std::string(what) + " answer: " + reply.payload.substr(0, 200));
}

// Polls LIST until stopped; delivers each set that differs from the last.
class BookWatch final : public WatchHandle, public std::enable_shared_from_this<BookWatch> {
 public:
  // Keeps what it needs of the discovery: it may outlive it by one poll.
  BookWatch(asio::any_io_executor executor, std::string address, std::chrono::milliseconds timeout,
            std::string name, WatchCallback on_change, std::chrono::milliseconds poll)
      : address_(std::move(address)), timeout_(timeout), name_(std::move(name)), on_change_(std::move(on_change)),
        poll_(poll), timer_(std::move(executor)) {}
  void start() { asio::co_spawn(timer_.get_executor(), run(shared_from_this()), asio::detached); }
  void stop() override {
    if (stopped_.exchange(true)) return;
    asio::post(timer_.get_executor(), [self = shared_from_this()] { self->timer_.cancel(); });
  }

 private:
  static asio::awaitable<void> run(std::shared_ptr<BookWatch> self) {
    std::optional<AddressSet> last;
    while (!self->stopped_) {
      Reply reply = co_await call_at(self->timer_.get_executor(), self->address_, self->timeout_, list_procedure,
                                     name_args(self->name_));
      if (self->stopped_) co_return;
      // While the discovery cannot be reached (or answers nonsense) the last set stands.
      auto set = reply.ok() ? parse_book_list(reply.payload) : std::nullopt;
      if (set && (!last || !same_instances(*last, *set))) {
        last = set;
        self->on_change_(*set);
      }
      self->timer_.expires_after(self->poll_);
      co_await self->timer_.async_wait(asio::as_tuple(asio::use_awaitable));
    }
  }

  std::string address_;
  std::chrono::milliseconds timeout_;
  std::string name_;
  WatchCallback on_change_;
  std::chrono::milliseconds poll_;
  asio::steady_timer timer_;
  std::atomic<bool> stopped_{false};
};

// The handle the caller owns: stopping it (or dropping it) stops the poll.
class BookWatchHandle final : public WatchHandle {
 public:
  explicit BookWatchHandle(std::shared_ptr<BookWatch> watch) : watch_(std::move(watch)) {}
  ~BookWatchHandle() override { watch_->stop(); }
  void stop() override { watch_->stop(); }

 private:
  std::shared_ptr<BookWatch> watch_;
};

}  // namespace

std::optional<AddressSet> parse_book_list(std::string_view answer) {
  auto joined = book::string_field(answer, "addresses");
  if (!joined) return std::nullopt;
  AddressSet set;
  std::string_view rest = *joined;
  while (!rest.empty()) {
    const auto end = std::min(rest.find(';'), rest.size());
    if (end > 0) set.addresses.emplace_back(rest.substr(0, end));
    rest.remove_prefix(std::min(end + 1, rest.size()));
  }
  std::sort(set.addresses.begin(), set.addresses.end());
  set.addresses.erase(std::unique(set.addresses.begin(), set.addresses.end()), set.addresses.end());
  return set;
}

BookDiscovery::BookDiscovery(asio::any_io_executor executor, std::string address, DiscoveryOptions options,
                             std::chrono::milliseconds poll)
    : executor_(std::move(executor)), address_(std::move(address)), options_(options), poll_(poll) {}

asio::awaitable<Reply> BookDiscovery::call(std::uint32_t procedure, std::string payload) {
  co_return co_await call_at(executor_, address_, options_.call_timeout, procedure, std::move(payload));
}

asio::awaitable<Result<std::string>> BookDiscovery::query(std::string name) {
  Reply reply = co_await call(query_procedure, name_args(name));
  if (!reply.ok()) co_return Result<std::string>::failure(reply.status, reply.payload);
  auto address = book::string_field(reply.payload, "address");
  if (!address) co_return malformed<std::string>("QUERY", reply);
  if (address->empty()) co_return Result<std::string>::failure(Status::not_found, "no live instance of '" + name + "'");
  co_return Result<std::string>{Status::ok, {}, std::move(*address)};
}

asio::awaitable<Result<AddressSet>> BookDiscovery::list(std::string name) {
  Reply reply = co_await call(list_procedure, name_args(name));
  if (!reply.ok()) co_return Result<AddressSet>::failure(reply.status, reply.payload);
  auto set = parse_book_list(reply.payload);
  if (!set) co_return malformed<AddressSet>("LIST", reply);
  co_return Result<AddressSet>{Status::ok, {}, std::move(*set)};
}

asio::awaitable<Result<std::chrono::milliseconds>> BookDiscovery::announce(std::string name, std::string address,
                                                                           std::chrono::milliseconds,
                                                                           Placement) {
  Reply reply = co_await call(register_procedure, book::Writer().string("name", name).string("address", address).finish());
  if (!reply.ok()) co_return Result<std::chrono::milliseconds>::failure(reply.status, reply.payload);
  if (reply.payload != "OK") {
    co_return Result<std::chrono::milliseconds>::failure(Status::internal,
                                                         "the book's discovery did not answer OK: " + reply.payload.substr(0, 200));
  }
  co_return Result<std::chrono::milliseconds>{Status::ok, {}, refresh_lease};
}

asio::awaitable<Result<bool>> BookDiscovery::withdraw(std::string, std::string) {
  co_return Result<bool>::failure(Status::unimplemented,
                                  "the book's discovery has no DEREGISTER (the entry expires 10-20 s after its last refresh)");
}

std::unique_ptr<WatchHandle> BookDiscovery::watch(std::string name, WatchCallback on_change) {
  auto watch = std::make_shared<BookWatch>(executor_, address_, options_.call_timeout, std::move(name),
                                           std::move(on_change), poll_);
  watch->start();
  return std::make_unique<BookWatchHandle>(std::move(watch));
}

}  // namespace routing::discovery
