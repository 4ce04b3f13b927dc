#include "book/book_call.h"

#include "rpc/address.h"
#include "rpc/asio_fwd.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace routing::book {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using rpc::use_nothrow;
using boost::system::error_code;

namespace {

// `operation` unless `limit` passes first (then the socket is closed).
template <typename Operation>
asio::awaitable<std::optional<std::tuple<error_code, std::size_t>>> within(asio::ip::tcp::socket& socket,
                                                                          std::chrono::milliseconds limit,
                                                                          Operation operation) {
  asio::steady_timer timer(socket.get_executor(), limit);
  auto outcome = co_await (std::move(operation) || timer.async_wait(use_nothrow));
  if (outcome.index() == 1) {
    error_code ignored;
    socket.close(ignored);
    co_return std::nullopt;
  }
  co_return std::get<0>(outcome);
}

}  // namespace

asio::awaitable<Reply> call(asio::any_io_executor executor, std::string address, std::uint32_t procedure,
                            std::string payload, CallLimits limits) {
  asio::ip::tcp::endpoint endpoint;
  try {
    endpoint = rpc::resolve_endpoint(address);
  } catch (const std::exception& e) {
    co_return Reply::error(Status::unavailable, address + ": " + e.what());
  }
  asio::ip::tcp::socket socket(executor);
  const auto deadline = std::chrono::steady_clock::now() + limits.timeout;
  auto left = [&] {
    return std::max(std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now()),
                    std::chrono::milliseconds(0));
  };
  auto connected = co_await within(socket, left(), [&]() -> asio::awaitable<std::tuple<error_code, std::size_t>> {
    auto [ec] = co_await socket.async_connect(endpoint, use_nothrow);
    co_return std::tuple{ec, std::size_t{0}};
  }());
  if (!connected) co_return Reply::error(Status::deadline_exceeded, address + ": connect timed out");
  if (auto ec = std::get<0>(*connected)) co_return Reply::error(Status::unavailable, address + ": " + ec.message());

  const std::string request = std::to_string(procedure) + ":" + payload + "\n";
  auto sent = co_await within(socket, left(), asio::async_write(socket, asio::buffer(request), use_nothrow));
  if (!sent) co_return Reply::error(Status::deadline_exceeded, address + ": sending timed out");
  if (auto ec = std::get<0>(*sent)) co_return Reply::error(Status::unavailable, address + ": " + ec.message());

  std::string answer;
  char chunk[4096];
  for (bool first = true;; first = false) {
    auto read = co_await within(socket, first ? left() : limits.settle,
                                socket.async_read_some(asio::buffer(chunk), use_nothrow));
    if (!read) {
      if (first) co_return Reply::error(Status::deadline_exceeded, address + ": no answer in time");
      co_return Reply::success(std::move(answer));  // quiet: the answer is complete
    }
    auto [ec, n] = *read;
    if (ec) {
      if (first) co_return Reply::error(Status::unavailable, address + ": closed without an answer");
      co_return Reply::success(std::move(answer));  // closed after answering
    }
    answer.append(chunk, n);
    if (answer.size() > limits.max_answer_bytes) {
      co_return Reply::error(Status::resource_exhausted, address + ": answer larger than " +
                                                             std::to_string(limits.max_answer_bytes) + " bytes");
    }
  }
}

}  // namespace routing::book
