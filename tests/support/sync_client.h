#pragma once
// One rpc::ClientConnection on its own loop, used synchronously by tests:
// connect (with TLS when given a CA), probe, call.
#include "rpc/client_connection.h"
#include "support/test_certificates.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <chrono>
#include <memory>
#include <string>

namespace routing::test {

inline rpc::tls::ClientFiles client_files(const std::string& ca, const KeyPair& pair = {}, std::string name = {}) {
  return {ca, pair.cert, pair.key, std::move(name)};
}

class SyncClient {
 public:
  using Clock = std::chrono::steady_clock;

  SyncClient(boost::asio::ip::tcp::endpoint endpoint, const rpc::tls::ClientFiles& files,
             std::string host = "127.0.0.1")
      : SyncClient(endpoint, files.enabled() ? rpc::tls::Context::client(files) : nullptr, std::move(host)) {}
  // With a client context made once (its sessions resume across connections); null: plain TCP.
  SyncClient(boost::asio::ip::tcp::endpoint endpoint, std::shared_ptr<const rpc::tls::Context> tls,
             std::string host = "127.0.0.1")
      : connection_(rpc::ClientConnection::create(ctx_.get_executor())) {
    if (tls) connection_->use_tls(std::move(tls), std::move(host));
    run([this, endpoint]() -> boost::asio::awaitable<void> {
      auto ec = co_await connection_->connect(endpoint);
      error_ = ec ? connection_->describe_connect_error(ec) : "";
      connected_ = !ec;
    });
  }
  bool connected() const { return connected_; }
  const std::string& error() const { return error_; }
  rpc::ClientConnection& connection() { return *connection_; }

  Reply call(std::uint32_t procedure, std::string payload) {
    Reply out = Reply::error(Status::internal, "no answer");
    run([&]() -> boost::asio::awaitable<void> {
      out = co_await connection_->async_call(procedure, payload, Clock::now() + std::chrono::seconds(5),
                                             boost::asio::use_awaitable);
    });
    return out;
  }
  bool probe_tagged() {
    bool tagged = false;
    run([&]() -> boost::asio::awaitable<void> {
      tagged = co_await connection_->async_probe_tagged(Clock::now() + std::chrono::seconds(5),
                                                        boost::asio::use_awaitable);
    });
    return tagged;
  }

 private:
  template <class Body>
  void run(Body body) {
    bool done = false;
    boost::asio::co_spawn(ctx_, [&]() -> boost::asio::awaitable<void> {
      co_await body();
      done = true;
    }, boost::asio::detached);
    auto until = Clock::now() + std::chrono::seconds(10);
    while (!done && Clock::now() < until) ctx_.run_one_for(std::chrono::milliseconds(50));
    ctx_.restart();
  }

  boost::asio::io_context ctx_;
  std::shared_ptr<rpc::ClientConnection> connection_;
  bool connected_ = false;
  std::string error_;
};

}  // namespace routing::test
