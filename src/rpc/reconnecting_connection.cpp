#include "rpc/reconnecting_connection.h"

#include "rpc/address.h"
#include "rpc/host_port.h"
#include "rpc/timed_call.h"

#include <boost/asio/use_awaitable.hpp>

namespace routing::rpc {

ReconnectingConnection::ReconnectingConnection(asio::any_io_executor executor, std::string address,
                                               std::chrono::milliseconds connect_timeout,
                                               std::size_t max_frame_bytes, Setup setup, bool probe_tagged,
                                               std::shared_ptr<const tls::Context> tls)
    : executor_(executor),
      address_(std::move(address)),
      connect_timeout_(connect_timeout),
      max_frame_bytes_(max_frame_bytes),
      setup_(std::move(setup)),
      probe_tagged_(probe_tagged),
      tls_(std::move(tls)),
      connect_done_(executor) {}

asio::awaitable<std::shared_ptr<ClientConnection>> ReconnectingConnection::get(std::string& error) {
  if (connecting_) {  // someone else is connecting: share that outcome
    while (connecting_) co_await connect_done_.async_wait(use_nothrow);
    if (connection_ && connection_->is_open()) co_return connection_;
    error = last_error_;
    co_return nullptr;
  }
  if (connection_ && connection_->is_open()) co_return connection_;
  connecting_ = true;
  connect_done_.expires_at(asio::steady_timer::time_point::max());
  auto fresh = ClientConnection::create(executor_, max_frame_bytes_);
  if (tls_) {
    auto host = parse_host_port(address_);
    fresh->use_tls(tls_, host ? host->host : address_);
  }
  last_error_.clear();
  try {
    const auto until = std::chrono::steady_clock::now() + connect_timeout_;
    if (auto ec = co_await connect_within(fresh, resolve_endpoint(address_), connect_timeout_)) {
      last_error_ = address_ + " unreachable: " + fresh->describe_connect_error(ec);
    } else if (probe_tagged_) {
      co_await fresh->async_probe_tagged(until, asio::use_awaitable);
      // A version-1 peer leaves it open, on the line protocol.
      if (!fresh->is_open()) {
        std::string why = fresh->tls_failure();
        last_error_ = address_ + (why.empty() ? ": no answer to the tagged-frames probe" : ": TLS: " + why);
      }
    }
  } catch (const std::exception& e) {
    last_error_ = e.what();
  }
  if (last_error_.empty() && setup_) {
    if (auto refused = co_await setup_(fresh)) last_error_ = *refused;
  }
  if (!last_error_.empty()) {
    fresh->close();
    fresh.reset();
  }
  connection_ = fresh;
  connecting_ = false;
  connect_done_.cancel();
  error = last_error_;
  co_return fresh;
}

void ReconnectingConnection::close() {
  if (connection_) connection_->close();
}

}  // namespace routing::rpc
