#pragma once
// book://host:port — the book's own discovery service (CONTRACT §12,
// docs/book.md), in its transport and format: REGISTER 1 {name, address},
// QUERY 2 {name} -> {address: "..."}, LIST 3 {name} -> {addresses: "a;b"}.
// It has no watch (a watch polls LIST every `poll`), no deregistration (an
// entry expires 10-20 s after its last REGISTER) and no placements (zones,
// weights and meta are not sent: every instance is in no zone, weight 100).
#include "discovery/discovery.h"

#include <routing/reply.h>

#include <optional>

namespace routing::discovery {

class BookDiscovery : public Discovery {
 public:
  // What a watch waits between two LISTs.
  static constexpr std::chrono::milliseconds default_poll{1000};
  // The lease announce() reports: its registration refreshes every third of
  // it, every 5 s as the book's servers do (its entries last 10-20 s).
  static constexpr std::chrono::milliseconds refresh_lease{15000};

  BookDiscovery(boost::asio::any_io_executor executor, std::string address, DiscoveryOptions options,
                std::chrono::milliseconds poll = default_poll);

  boost::asio::awaitable<Result<std::string>> query(std::string name) override;
  boost::asio::awaitable<Result<AddressSet>> list(std::string name) override;
  boost::asio::awaitable<Result<std::chrono::milliseconds>> announce(
      std::string name, std::string address, std::chrono::milliseconds ttl, Placement placement) override;
  boost::asio::awaitable<Result<bool>> withdraw(std::string name, std::string address) override;
  std::unique_ptr<WatchHandle> watch(std::string name, WatchCallback on_change) override;
  boost::asio::any_io_executor executor() const override { return executor_; }
  std::string describe() const override { return "book://" + address_; }

 private:
  boost::asio::awaitable<Reply> call(std::uint32_t procedure, std::string payload);

  boost::asio::any_io_executor executor_;
  std::string address_;
  DiscoveryOptions options_;
  std::chrono::milliseconds poll_;
};

// The addresses of a LIST answer ({addresses: "a;b"}), sorted, each once;
// nullopt when it is not one.
std::optional<AddressSet> parse_book_list(std::string_view answer);

}  // namespace routing::discovery
