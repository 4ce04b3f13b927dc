// routing::ProxyClient: ROUTE calls to a routerd over a few pipelined
// connections, on a loop of its own.
#include <routing/proxy_client.h>

#include "proxy/route_args.h"
#include "routing/backend_tls.h"
#include "discovery/discovery.h"
#include "rpc/host_port.h"
#include "rpc/loop_thread.h"
#include "rpc/reconnecting_connection.h"
#include "rpc/timed_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <stdexcept>

namespace routing {
namespace asio = boost::asio;
namespace json = boost::json;

// One routerd: its address and the connections to it.
struct RouterdTarget {
  std::string address;
  std::vector<std::unique_ptr<rpc::ReconnectingConnection>> connections;
  std::size_t next = 0;

  // The connection for the next call: a free one if there is one, else the
  // least busy. routerd serves the calls of one line-protocol connection one
  // after another and starts a call's deadline when it reads it, so a call
  // queued behind another on a busy connection would wait past its deadline.
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
  std::size_t in_flight() const {
    std::size_t sum = 0;
    for (const auto& c : connections) sum += c->in_flight();
    return sum;
  }
  void close() {
    for (auto& c : connections) c->close();
  }
};

using Targets = std::vector<std::shared_ptr<RouterdTarget>>;

// The comma-separated addresses of ProxyClientOptions::address.
std::vector<std::string> address_list(const std::string& text) {
  std::string error;
  auto addresses = rpc::parse_address_list(text, error);
  if (!addresses) throw std::invalid_argument("ProxyClient: " + error);
  return std::move(*addresses);
}

struct ProxyClient::Impl {
  ProxyClientOptions options;
  core::BackendTls tls;  // routerd is this client's backend; throws before the loop starts
  // Declared before the targets: they go first, while the loop exists.
  rpc::LoopThread loop;
  // The routerds now (on the loop only; replaced whole when they change, so
  // a call keeps the list it started with across its co_awaits).
  std::shared_ptr<const Targets> targets = std::make_shared<Targets>();
  Targets retired;  // gone from discovery, closed once their calls finished
  std::size_t next_target = 0;
  // With options.discovery: where the routerds are found (on the loop).
  std::unique_ptr<discovery::Discovery> discovery;
  std::unique_ptr<discovery::WatchHandle> watch;

  explicit Impl(ProxyClientOptions opts) : options(std::move(opts)), tls(options.tls) {
    if (options.connections == 0) options.connections = 1;
    if (options.discovery.empty()) {
      set_targets(address_list(options.address));
      return;
    }
    if (options.discovery_name.empty()) throw std::invalid_argument("ProxyClient: discovery needs discovery_name");
    discovery = discovery::make_discovery(options.discovery, loop.executor(), {.tls = tls.context()});
  }
  ~Impl() {
    asio::post(loop.context(), [this] {
      if (watch) watch->stop();
      if (discovery) discovery->shutdown();
      for (auto& target : *targets) target->close();
      for (auto& target : retired) target->close();
    });
    loop.stop();
  }

  std::shared_ptr<RouterdTarget> make_target(const std::string& address) {
    auto target = std::make_shared<RouterdTarget>();
    target->address = address;
    for (std::size_t i = 0; i < options.connections; ++i) {
      target->connections.push_back(std::make_unique<rpc::ReconnectingConnection>(
          loop.executor(), address, options.connect_timeout, options.max_frame_bytes,
          options.auth_token.empty() ? rpc::ReconnectingConnection::Setup{}
                                     : rpc::ReconnectingConnection::Setup{[this](auto c) { return authenticate(c); }},
          options.tagged_frames, tls.context()));
    }
    return target;
  }

  // Keeps the routerds still listed (and their connections), adds the new
  // ones; those gone finish their calls before they are closed.
  void set_targets(const std::vector<std::string>& addresses) {
    auto fresh = std::make_shared<Targets>();
    for (const auto& address : addresses) {
      auto same = std::find_if(targets->begin(), targets->end(), [&](const auto& t) { return t->address == address; });
      fresh->push_back(same != targets->end() ? *same : make_target(address));
    }
    for (const auto& old : *targets) {
      if (std::find(fresh->begin(), fresh->end(), old) == fresh->end()) retired.push_back(old);
    }
    targets = std::move(fresh);
    close_idle_retired();
  }
  void close_idle_retired() {
    std::erase_if(retired, [](const auto& target) {
      if (target->in_flight() > 0) return false;
      target->close();
      return true;
    });
  }

  // With discovery: the routerds listed under discovery_name, asked on the
  // first call and followed from then on. nullopt when there are some.
  asio::awaitable<std::optional<Reply>> find_routerds() {
    if (!discovery || !targets->empty()) co_return std::nullopt;
    auto listed = co_await discovery->list(options.discovery_name);
    if (!listed.ok()) {
      co_return Reply::error(Status::unavailable, "finding routerds '" + options.discovery_name + "' in " +
                                                      discovery->describe() + ": " + listed.error);
    }
    if (!watch) {
      watch = discovery->watch(options.discovery_name, [this](const discovery::AddressSet& set) {
        // An empty list keeps the routerds known: a discoveryd that restarted
        // is empty until they register again (every few seconds), and
        // believing it would fail every call meanwhile. A routerd that left
        // for good fails its connects, and calls go to the next.
        if (!set.addresses.empty()) set_targets(set.addresses);
      });
    }
    if (targets->empty()) set_targets(listed.value.addresses);
    if (targets->empty()) {
      co_return Reply::error(Status::unavailable, "no routerd registered as '" + options.discovery_name + "' in " +
                                                      discovery->describe());
    }
    co_return std::nullopt;
  }

  asio::awaitable<std::optional<std::string>> authenticate(std::shared_ptr<rpc::ClientConnection> connection) {
    std::string args = json::serialize(json::object{{"token", options.auth_token}});
    Reply answer = co_await rpc::call_within(connection, proxy::authenticate_procedure, args, options.connect_timeout);
    if (answer.ok()) co_return std::nullopt;
    co_return "authentication failed: " + proxy::unwrap_answer(answer).payload;
  }

  // One request to a routerd, on the loop, spread over the routerds. A call
  // that cannot reach one (connect refused or failed, its connection closed
  // before the request went out) goes to the next; one whose connection
  // broke after it was sent goes to the next only when `idempotent`, once
  // (CONTRACT §3's resending rule). On a tagged connection it carries
  // `keys` (and its deadline, as deadline-ms).
  asio::awaitable<Reply> send(std::uint32_t procedure, std::string payload, std::chrono::milliseconds timeout,
                              rpc::CallKeys keys = {}, bool idempotent = false) {
    if (auto refusal = co_await find_routerds()) co_return std::move(*refusal);
    const auto routerds = targets;  // this call's list, whatever discovery says meanwhile
    const std::size_t start = next_target++;
    // One deadline for every try (routerd answers 4 itself at `timeout`; the
    // margin lets that answer arrive). A try at another routerd carries what
    // is left of it as deadline-ms on tagged connections.
    const auto deadline = std::chrono::steady_clock::now() + timeout + std::chrono::seconds(1);
    bool resent = false;
    std::string errors;
    for (std::size_t i = 0; i < routerds->size() && std::chrono::steady_clock::now() < deadline; ++i) {
      auto& target = *(*routerds)[(start + i) % routerds->size()];
      std::string error;
      auto connection = co_await target.pick_connection().get(error);
      if (!connection || !connection->is_open()) {  // nothing sent: the next routerd
        errors += (errors.empty() ? "" : "; ") + (connection ? target.address + ": connection closed" : error);
        continue;
      }
      Reply reply = co_await connection->async_call(procedure, payload, deadline, keys, asio::use_awaitable);
      // The connection failed under the call (not routerd answering 14: its
      // answers to ROUTE are JSON, the connection's own failures are not).
      const bool broke_after_sending =
          reply.status == Status::unavailable && !connection->is_open() && !reply.payload.starts_with('{');
      if (broke_after_sending && idempotent && !resent && routerds->size() > 1) {
        resent = true;
        errors += (errors.empty() ? "" : "; ") + target.address + ": " + reply.payload;
        continue;
      }
      co_return reply;
    }
    if (errors.empty()) co_return Reply::error(Status::deadline_exceeded, "deadline exceeded reaching a routerd");
    if (routerds->size() == 1) co_return Reply::error(Status::unavailable, "routerd at " + errors);
    co_return Reply::error(Status::unavailable, "no routerd could take the call: " + errors);
  }

  // `system`, `payload` and the strings `call` views live in this frame.
  asio::awaitable<Reply> route(std::string system, std::uint32_t procedure, std::string payload, CallOptions call,
                               std::string traceparent, std::string request_id) {
    if (!call.timeout) call.timeout = options.request_timeout;
    call.traceparent = traceparent;  // the caller's strings may be gone
    call.request_id = request_id;
    std::string args = proxy::route_args_json(system, procedure, payload, call);
    const rpc::CallKeys keys{traceparent, request_id};
    Reply answer = co_await send(proxy::route_procedure, std::move(args), *call.timeout, keys, call.idempotent);
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

Reply ProxyClient::drain(std::string_view system, std::string_view address) {
  const json::object args{{"name", system}, {"address", address}};
  Reply answer = impl_->run(impl_->send(proxy::drain_procedure, json::serialize(args), impl_->options.request_timeout));
  return answer.ok() ? answer : proxy::unwrap_answer(answer);
}

Reply ProxyClient::undrain(std::string_view system, std::string_view address) {
  const json::object args{{"name", system}, {"address", address}};
  Reply answer = impl_->run(impl_->send(proxy::undrain_procedure, json::serialize(args), impl_->options.request_timeout));
  return answer.ok() ? answer : proxy::unwrap_answer(answer);
}

}  // namespace routing
