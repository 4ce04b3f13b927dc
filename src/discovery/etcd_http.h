#pragma once
// A small client for etcd's gRPC-JSON gateway (HTTP/1.1 or HTTPS, JSON bodies): unary
// POSTs and the streaming watch. Each request uses a fresh connection; a
// request that cannot reach one endpoint moves on to the next, and the
// endpoint that answered is tried first next time.
#include "discovery/discovery.h"

#include <boost/json/object.hpp>

#include <functional>
#include <optional>
#include <vector>

namespace routing::discovery {

// Lets a watch abort its stream from outside (on the client's executor).
struct StreamCancel {
  bool cancelled = false;
  std::function<void()> abort;  // set while a stream is open
  void cancel() {
    cancelled = true;
    if (abort) abort();
  }
};

class EtcdTls;  // etcd_stream.h

class EtcdHttp {
 public:
  // `tls`: etcds:// (null: plain HTTP).
  EtcdHttp(boost::asio::any_io_executor executor, std::vector<std::string> endpoints,
           std::chrono::milliseconds timeout, std::shared_ptr<const rpc::tls::Context> tls = nullptr);
  ~EtcdHttp();

  // POSTs `body` to `path` (e.g. "/v3/kv/range"). Unreachable: status 14;
  // an HTTP error from etcd: status 13 with its message.
  boost::asio::awaitable<Result<boost::json::object>> post(std::string path, boost::json::object body);

  // POSTs and hands each JSON message of the streamed answer to `on_message`
  // until it returns false, the stream ends or fails, or `cancel` is used.
  // The first message must arrive within the timeout; later ones may take
  // as long as they like.
  boost::asio::awaitable<Result<bool>> stream(
      std::string path, boost::json::object body,
      std::function<bool(const boost::json::object&)> on_message, std::shared_ptr<StreamCancel> cancel);

  const std::string& current_endpoint() const { return endpoints_[preferred_]; }

 private:
  boost::asio::any_io_executor executor_;
  std::vector<std::string> endpoints_;
  std::chrono::milliseconds timeout_;
  std::size_t preferred_ = 0;
  std::unique_ptr<EtcdTls> tls_;  // one per client: its connections share the context
};

// etcd encodes 64-bit integers as JSON strings; accepts numbers too.
std::optional<std::int64_t> etcd_int(const boost::json::object& object, std::string_view key);

}  // namespace routing::discovery
