// routing::ProxyClient: ROUTE calls to a routerd over a few pipelined
// connections, on a loop of its own.
#include <routing/proxy_client.h>

#include "proxy/route_args.h"
#include "routing/backend_tls.h"
#include "rpc/loop_thread.h"
#include "rpc/reconnecting_connection.h"
#include "rpc/timed_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace routing {
namespace asio = boost::asio;
namespace json = boost::json;

struct ProxyClient::Impl {
  ProxyClientOptions options;
  core::BackendTls tls;  // routerd is this client's backend; throws before the loop starts
  // Declared before the connections: they go first, while the loop exists.
  rpc::LoopThread loop;
  std::vector<std::unique_ptr<rpc::ReconnectingConnection>> connections;
  std::size_t next = 0;  // on the loop only

  explicit Impl(ProxyClientOptions opts) : options(std::move(opts)), tls(options.tls) {
    if (options.connections == 0) options.connections = 1;
    for (std::size_t i = 0; i < options.connections; ++i) {
      connections.push_back(std::make_unique<rpc::ReconnectingConnection>(
          loop.executor(), options.address, options.connect_timeout, options.max_frame_bytes,
          options.auth_token.empty() ? rpc::ReconnectingConnection::Setup{}
                                     : rpc::ReconnectingConnection::Setup{[this](auto c) { return authenticate(c); }},
          options.tagged_frames, tls.context()));
    }
  }
  ~Impl() {
    asio::post(loop.context(), [this] {
      for (auto& c : connections) c->close();
    });
    loop.stop();
  }

  asio::awaitable<std::optional<std::string>> authenticate(std::shared_ptr<rpc::ClientConnection> connection) {
    std::string args = json::serialize(json::object{{"token", options.auth_token}});
    Reply answer = co_await rpc::call_within(connection, proxy::authenticate_procedure, args, options.connect_timeout);
    if (answer.ok()) co_return std::nullopt;
    co_return "authentication failed: " + proxy::unwrap_answer(answer).payload;
  }

  // The connection for the next call: a free one if there is one, else the
  // least busy. routerd serves the calls of one connection one after another
  // and starts a call's deadline when it reads it, so a call queued behind
  // another on a busy connection would wait past its deadline.
  rpc::ReconnectingConnection& pick_connection() {
    std::size_t start = next++;
    std::size_t best = start % connections.size();
    for (std::size_t i = 0; i < connections.size(); ++i) {
      std::size_t candidate = (start + i) % connections.size();
      if (connections[candidate]->in_flight() == 0) return *connections[candidate];
      if (connections[candidate]->in_flight() < connections[best]->in_flight()) best = candidate;
    }
    return *connections[best];
  }

  // One request to routerd, on the loop. On a tagged connection it carries
  // `keys` (and its deadline, as deadline-ms).
  asio::awaitable<Reply> send(std::uint32_t procedure, std::string payload, std::chrono::milliseconds timeout,
                              rpc::CallKeys keys = {}) {
    auto& slot = pick_connection();
    std::string error;
    auto connection = co_await slot.get(error);
    if (!connection) co_return Reply::error(Status::unavailable, "routerd at " + error);
    // routerd answers 4 itself at the deadline; the margin lets that answer arrive.
    const auto deadline = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(1);
    co_return co_await connection->async_call(procedure, payload, deadline, keys, asio::use_awaitable);
  }

  // `system`, `payload` and the strings `call` views live in this frame.
  asio::awaitable<Reply> route(std::string system, std::uint32_t procedure, std::string payload, CallOptions call,
                               std::string traceparent, std::string request_id) {
    if (!call.timeout) call.timeout = options.request_timeout;
    call.traceparent = traceparent;  // the caller's strings may be gone
    call.request_id = request_id;
    std::string args = proxy::route_args_json(system, procedure, payload, call);
    const rpc::CallKeys keys{traceparent, request_id};
    Reply answer = co_await send(proxy::route_procedure, std::move(args), *call.timeout, keys);
    co_return proxy::unwrap_answer(answer);
  }

  template <typename T>
  T run(asio::awaitable<T> work) {
    return asio::co_spawn(loop.context(), std::move(work), asio::use_future).get();
  }
};

namespace {
ProxyClientOptions options_for(std::string address) {
  ProxyClientOptions options;
  options.address = std::move(address);
  return options;
}
}  // namespace

ProxyClient::ProxyClient(std::string address) : ProxyClient(options_for(std::move(address))) {}

ProxyClient::ProxyClient(ProxyClientOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {}

ProxyClient::~ProxyClient() = default;

Reply ProxyClient::call(std::string_view system, std::uint32_t procedure, std::string_view payload,
                        const CallOptions& options) {
  return impl_->run(impl_->route(std::string(system), procedure, std::string(payload), options,
                                 std::string(options.traceparent), std::string(options.request_id)));
}

asio::awaitable<Reply> ProxyClient::async_call(std::string system, std::uint32_t procedure, std::string payload,
                                               CallOptions options) {
  std::string traceparent(options.traceparent), request_id(options.request_id);
  co_return co_await asio::co_spawn(impl_->loop.context(),
                                    impl_->route(std::move(system), procedure, std::move(payload), options,
                                                 std::move(traceparent), std::move(request_id)),
                                    asio::use_awaitable);
}

Reply ProxyClient::set_strategy(std::string_view strategy, std::optional<std::string> system) {
  json::object args{{"strategy", strategy}};
  if (system) args["name"] = *system;
  Reply answer = impl_->run(impl_->send(proxy::set_strategy_procedure, json::serialize(args), impl_->options.request_timeout));
  return answer.ok() ? answer : proxy::unwrap_answer(answer);
}

Reply ProxyClient::status() {
  Reply answer = impl_->run(impl_->send(proxy::status_procedure, "{}", impl_->options.request_timeout));
  return answer.ok() ? answer : proxy::unwrap_answer(answer);
}

}  // namespace routing
