#pragma once
// routerd's admin endpoint: a small HTTP/1.1 server (Boost.Beast) answering
// GET /metrics (Prometheus text), GET /healthz and GET /status (JSON). It
// runs on its own event loop, away from the call path.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <functional>
#include <memory>
#include <string>

namespace routing::proxy {

struct AdminPages {
  std::function<std::string()> metrics;
  std::function<std::string()> status;
  std::function<bool()> healthy;  // false: /healthz answers 503 (e.g. draining)
};

class AdminServer {
 public:
  // Binds `address` ("host:port"); throws on failure.
  AdminServer(boost::asio::any_io_executor executor, const std::string& address, AdminPages pages);
  ~AdminServer();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void stop();  // thread-safe

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace routing::proxy
