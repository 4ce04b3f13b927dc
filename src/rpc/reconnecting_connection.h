#pragma once
// One client connection to an address that is (re)opened on demand: callers
// that find it closed share a single connect attempt, and an optional setup
// step (e.g. authenticating) runs on each new connection before anyone uses
// it. Use it only on its loop's thread.
#include "rpc/client_connection.h"

#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <functional>
#include <optional>

namespace routing::rpc {

class ReconnectingConnection {
 public:
  // Returns an error message when the new connection must not be used.
  using Setup = std::function<asio::awaitable<std::optional<std::string>>(std::shared_ptr<ClientConnection>)>;

  // `probe_tagged`: each new connection asks the peer whether it speaks
  // tagged frames (ClientConnection::async_probe_tagged) before its setup.
  // `tls`: each new connection speaks TLS, verifying the host of `address`
  // (null: plain TCP).
  ReconnectingConnection(asio::any_io_executor executor, std::string address,
                         std::chrono::milliseconds connect_timeout, std::size_t max_frame_bytes = default_max_frame_bytes,
                         Setup setup = {}, bool probe_tagged = false,
                         std::shared_ptr<const tls::Context> tls = nullptr);

  // The open connection, connecting first if needed; nullptr with `error`
  // set when that fails.
  asio::awaitable<std::shared_ptr<ClientConnection>> get(std::string& error);
  void close();
  const std::string& address() const { return address_; }
  // Calls awaiting their answers on the open connection (0 when closed).
  std::size_t in_flight() const { return connection_ && connection_->is_open() ? connection_->in_flight() : 0; }

 private:
  asio::any_io_executor executor_;
  std::string address_;
  std::chrono::milliseconds connect_timeout_;
  std::size_t max_frame_bytes_;
  Setup setup_;
  bool probe_tagged_;
  std::shared_ptr<const tls::Context> tls_;
  std::shared_ptr<ClientConnection> connection_;
  bool connecting_ = false;
  std::string last_error_;
  asio::steady_timer connect_done_;  // wakes callers waiting for a connect
};

}  // namespace routing::rpc
