#pragma once
// routing::ProxyClient — the same calls as routing::Router, sent through a
// routerd (proxy mode). Switching modes is a one-line change:
//
//   routing::ProxyClient proxy("127.0.0.1:10300");
//   routing::Reply r = proxy.call("echo", 1, "hello");
//
// Replies are unwrapped: r.payload is the backend's payload (or the router's
// error message), r.status the backend's or the router's status.
// Thread-safe, like Router.
#include <routing/reply.h>
#include <routing/router.h>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace routing {

struct ProxyClientOptions {
  // routerd's address, or several separated by commas
  // ("10.0.0.1:10300,10.0.0.2:10300", CONTRACT §11): calls are spread over
  // them in turn, and a call that cannot reach one (connect refused or
  // failed, its connection found closed before the request went out) goes
  // to the next. A call whose routerd fails after the request went out gets
  // 14, unless CallOptions::idempotent: then it goes to the next once.
  // The constructor throws std::invalid_argument for an entry that is not
  // host:port.
  std::string address = "127.0.0.1:10300";
  // Find the routerds through discovery instead (rpc://, etcd://, static://
  // URLs): the instances registered under `discovery_name` (routerd
  // --register-as), looked up on the first call and followed from then on;
  // a routerd that leaves finishes the calls it has. `address` is then
  // ignored. rpcs:// and etcds:// use `tls` below.
  std::string discovery{};
  std::string discovery_name{};
  // Sent with AUTHENTICATE (procedure 4) on every new connection when set.
  std::string auth_token;
  // Default deadline of a call, passed to routerd as timeout_ms.
  std::chrono::milliseconds request_timeout{5000};
  std::chrono::milliseconds connect_timeout{1000};
  // Connections to routerd. A call takes a free one if there is one, else it
  // shares the least busy. Over tagged frames routerd serves one
  // connection's calls at once; on the line protocol one after another,
  // starting each call's deadline when it reads it (then, for strict
  // deadlines, keep this at least the number of concurrent callers).
  std::size_t connections = 4;
  // Ask routerd on each new connection whether it speaks tagged frames
  // (CONTRACT §8) and use them when it does: calls on one connection run
  // concurrently, and each carries its deadline (deadline-ms) and
  // CallOptions::traceparent and request_id to routerd.
  bool tagged_frames = true;
  std::size_t max_frame_bytes = 1024 * 1024;
  // TLS to routerd (its --tls-cert): with `tls.ca_file` set, routerd is
  // verified against that CA and the host of `address` (or
  // tls.server_name); tls.cert_file/key_file is the client certificate for
  // a routerd that asks for one (--tls-client-ca). Files that make no
  // context make the constructor throw std::invalid_argument.
  TlsClientOptions tls{};
};

class ProxyClient {
 public:
  explicit ProxyClient(std::string address);
  explicit ProxyClient(ProxyClientOptions options);
  ~ProxyClient();
  ProxyClient(const ProxyClient&) = delete;
  ProxyClient& operator=(const ProxyClient&) = delete;

  Reply call(std::string_view system, std::uint32_t procedure, std::string_view payload,
             const CallOptions& options = {});
  boost::asio::awaitable<Reply> async_call(std::string system, std::uint32_t procedure, std::string payload,
                                           CallOptions options = {});

  // The procedures below go to one routerd (the next in turn), as calls do:
  // with several, SET_STRATEGY, DRAIN and UNDRAIN must be sent to each.
  // SET_STRATEGY; the reply's payload is routerd's JSON answer.
  Reply set_strategy(std::string_view strategy, std::optional<std::string> system = std::nullopt);
  // STATUS; the reply's payload is routerd's status JSON.
  Reply status();
  // DRAIN / UNDRAIN of one backend (CONTRACT §11); the reply's payload is
  // routerd's JSON answer ({"name","address","drained","listed"}).
  Reply drain(std::string_view system, std::string_view address);
  Reply undrain(std::string_view system, std::string_view address);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace routing
