#include "book/book_call.h"

#include "rpc/address.h"
#include "rpc/asio_fwd.h"

#include <boost/asio/experimental/awaitable_operators.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>

namespace routing::book {
namespace asio = boost::asio;
using namespace asio::experimental::awaitable_operators;
using boost::system::error_code;
using rpc::use_nothrow;
using Clock = std::chrono::steady_clock;

namespace {

// `operation` unless `limit` passes first (then the socket is closed): its
// error code (and byte count), or nullopt at the limit.
template <typename Result>
asio::awaitable<std::optional<Result>> within(asio::ip::tcp::socket& socket, Clock::duration limit,
                                              asio::awaitable<Result> operation) {
  asio::steady_timer timer(socket.get_executor(), limit);
  auto outcome = co_await (std::move(operation) || timer.async_wait(use_nothrow));
  if (outcome.index() == 1) {
    error_code ignored;
    socket.close(ignored);
    co_return std::nullopt;
  }
  co_return std::get<0>(outcome);
}

Exchange failed(Status status, std::string why, bool sent) { return Exchange{Reply::error(status, std::move(why)), sent, false}; }

}  // namespace

asio::awaitable<Exchange> exchange(asio::any_io_executor executor, asio::ip::tcp::endpoint server, std::string label,
                                   std::uint32_t procedure, std::string payload, CallLimits limits) {
  const auto deadline = Clock::now() + limits.timeout;
  auto left = [&] { return std::max(deadline - Clock::now(), Clock::duration::zero()); };
  asio::ip::tcp::socket socket(executor);
  auto connected = co_await within(socket, std::min<Clock::duration>(left(), limits.connect_timeout),
                                   socket.async_connect(server, use_nothrow));
  if (!connected) co_return failed(Status::deadline_exceeded, label + ": connect timed out", false);
  if (auto [ec] = *connected; ec) co_return failed(Status::unavailable, label + ": " + ec.message(), false);

  const std::string request = std::to_string(procedure) + ":" + payload + "\n";
  auto sent = co_await within(socket, left(), asio::async_write(socket, asio::buffer(request), use_nothrow));
  if (!sent) co_return failed(Status::deadline_exceeded, label + ": sending timed out", true);
  if (auto [ec, n] = *sent; ec) co_return failed(Status::unavailable, label + ": sending: " + ec.message(), true);

  char chunk[4096];
  auto first = co_await within(socket, left(), socket.async_read_some(asio::buffer(chunk), use_nothrow));
  if (!first) co_return failed(Status::deadline_exceeded, label + ": no answer in time", true);
  auto [ec, n] = *first;
  if (ec) co_return failed(Status::unavailable, label + ": closed without an answer", true);
  Exchange done{Reply::success(std::string(chunk, n)), true, true};
  // What else is already here belongs to the answer too (no waiting: the
  // transport gives no other way to tell where an answer ends).
  error_code blocking_ec;
  socket.non_blocking(true, blocking_ec);
  if (blocking_ec) co_return done;
  for (;;) {
    error_code more_ec;
    std::size_t more = socket.read_some(asio::buffer(chunk), more_ec);
    if (more_ec || more == 0) break;
    done.reply.payload.append(chunk, more);
    if (done.reply.payload.size() > limits.max_answer_bytes) {
      co_return failed(Status::resource_exhausted,
                       label + ": answer larger than " + std::to_string(limits.max_answer_bytes) + " bytes", true);
    }
  }
  co_return done;
}

asio::awaitable<Exchange> exchange(asio::any_io_executor executor, std::string address, std::uint32_t procedure,
                                   std::string payload, CallLimits limits) {
  asio::ip::tcp::endpoint server;
  try {
    server = rpc::resolve_endpoint(address);
  } catch (const std::exception& e) {
    co_return failed(Status::unavailable, address + ": " + e.what(), false);
  }
  co_return co_await exchange(std::move(executor), server, std::move(address), procedure, std::move(payload), limits);
}

Status status_of_answer(std::string_view answer) {
  if (answer == "Unknown procedure") return Status::unimplemented;
  if (answer == "Operation timed out") return Status::deadline_exceeded;
  if (answer == "Service not available") return Status::unavailable;
  return Status::ok;
}

}  // namespace routing::book
