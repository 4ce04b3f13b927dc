#include "rpc/server.h"

#include "common/shared_snapshot.h"

#include "rpc/accept_backoff.h"
#include "rpc/address.h"
#include "rpc/loop_thread.h"
#include "rpc/server_connection.h"
#include "rpc/tls/handshake.h"
#include "common/throttled_log.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include "common/log.h"

#include <thread>

namespace routing::rpc {

struct Server::Shared : ServerShared {
  AcceptBackoff accept_backoff{"main"};
  common::SharedSnapshot<const tls::Context> tls;
  std::atomic<std::uint64_t> tls_handshakes{0};
  std::atomic<std::uint64_t> tls_resumed{0};
  // Plain TCP on a TLS port, garbage, a wrong certificate, a stall: one line
  // a second at most, however many arrive.
  common::ThrottledLog tls_failures{"TLS handshake(s) failed", std::chrono::seconds(1)};
};

// One worker: a loop, its thread and its connections. `connections` is
// declared before `loop` so it outlives the coroutine frames that the loop
// destroys on shutdown.
struct Server::Worker {
  ConnectionSet connections;
  LoopThread loop{LoopOptions{.worker = true, .log_failure = true}};
  asio::steady_timer drain_timer{loop.context()};

  // Drains this worker; `done` runs once, when its last connection closed or
  // the drain timeout cut the rest.
  void begin_drain(std::chrono::milliseconds timeout, std::function<void()> done) {
    auto finished = std::make_shared<bool>(false);
    auto finish = [this, finished, done = std::move(done)] {
      if (std::exchange(*finished, true)) return;
      drain_timer.cancel();
      if (done) done();
    };
    connections.draining = true;
    connections.drained = finish;
    loop.release();
    if (connections.live.empty()) return finish();
    // Copy: shutting a connection down may remove it from the set.
    std::vector<ServerConnection*> live(connections.live.begin(), connections.live.end());
    for (auto* connection : live) connection->begin_drain();
    drain_timer.expires_after(timeout);
    drain_timer.async_wait([this, finish](error_code ec) {
      if (ec) return;  // every connection finished in time
      common::log().warn("drain timeout: cutting {} connection(s)", connections.live.size());
      std::vector<ServerConnection*> left(connections.live.begin(), connections.live.end());
      for (auto* connection : left) connection->cut();
      finish();
      loop.context().stop();  // calls still running (e.g. sleeping handlers) are abandoned
    });
  }
};

namespace {

// Tells a client over the connection limit why it is turned away, then closes.
asio::awaitable<void> reject_connection(asio::ip::tcp::socket socket) {
  static const std::string answer = encode_frame(
      static_cast<std::uint32_t>(Status::resource_exhausted), "too many connections");
  co_await asio::async_write(socket, asio::buffer(answer), use_nothrow);
  error_code ec;
  socket.shutdown(asio::ip::tcp::socket::shutdown_send, ec);
  socket.close(ec);
}

// At the connection limit, a newcomer is admitted in place of a connection
// that has been quiet at least this long (the quietest of its worker), so
// connections that never send cannot lock everyone else out until the idle
// timeout; Envoy's overload manager shrinks idle timeouts under the same
// pressure. Busy connections, and ones quiet for less, are never closed.
// Quiet times are kept to within a scheduler tick (common::coarse_now).
constexpr auto evict_quiet_after = std::chrono::seconds(1);

ServerConnection* quietest_connection(const ConnectionSet& set) {
  auto now = std::chrono::steady_clock::now();
  ServerConnection* quietest = nullptr;
  auto longest = std::chrono::steady_clock::duration::zero();
  for (auto* connection : set.live) {
    auto quiet = connection->quiet_for(now);
    if (quiet >= evict_quiet_after && quiet > longest) {
      quietest = connection;
      longest = quiet;
    }
  }
  return quietest;
}

}  // namespace

Server::Server(ServerOptions options)
    : options_(std::move(options)), shared_(std::make_shared<Shared>()) {
  if (options_.threads == 0) options_.threads = std::max(1u, std::thread::hardware_concurrency());
  if (options_.max_frame_bytes == 0) throw std::invalid_argument("max frame bytes must be positive");
  shared_->options = options_;
  if (!options_.trace_log.empty()) {
    try {
      shared_->spans = std::make_shared<common::SpanLog>(options_.trace_log, options_.service_name);
    } catch (const std::runtime_error& e) {  // the programs' flag check opened it a moment ago
      common::log().error("{}: no spans are written", e.what());
    }
  }
}

Server::~Server() {
  stop();
  wait();
}

void Server::handle(std::uint32_t procedure, Handler handler) {
  if (procedure == 0) throw std::invalid_argument("procedure 0 is the built-in ping");
  shared_->handlers[procedure] = RegisteredHandler{std::move(handler), {}};
}

void Server::handle_callback(std::uint32_t procedure, CallbackHandler handler) {
  if (procedure == 0) throw std::invalid_argument("procedure 0 is the built-in ping");
  shared_->handlers[procedure] = RegisteredHandler{{}, std::move(handler)};
}

void Server::start() {
  prepare();
  start_accepting();
}

void Server::start_accepting() {
  asio::co_spawn(workers_[0]->loop.context(), [this, acceptor = acceptor_]() { return accept_loop(*acceptor); }(),
                 asio::detached);
}

void Server::prepare() {
  auto endpoint = resolve_endpoint(options_.listen);
  if (options_.tls.enabled() && !shared_->tls.load()) shared_->tls.store(tls::Context::server(options_.tls));
  for (unsigned i = 0; i < options_.threads; ++i) workers_.push_back(std::make_unique<Worker>());

  // One listener, on the first worker; accepted sockets are dealt round-robin
  // to the workers' loops. Unlike SO_REUSEPORT listeners, a second instance
  // started on the same port fails loudly instead of silently sharing it.
  auto acceptor = std::make_shared<asio::ip::tcp::acceptor>(workers_[0]->loop.context());
  acceptor->open(endpoint.protocol());
  acceptor->set_option(asio::socket_base::reuse_address(true));
  acceptor->bind(endpoint);
  acceptor->listen(asio::socket_base::max_listen_connections);
  endpoint_ = acceptor->local_endpoint();

  acceptor_ = acceptor;
}

asio::awaitable<void> Server::accept_loop(asio::ip::tcp::acceptor& acceptor) {
  std::size_t next = 0;
  for (;;) {
    Worker& worker = *workers_[next];
    next = (next + 1) % workers_.size();
    auto [ec, socket] = co_await acceptor.async_accept(worker.loop.context(), use_nothrow);
    if (ec == asio::error::operation_aborted || stopping_) co_return;
    if (ec) {
      co_await shared_->accept_backoff.pause_after(ec, acceptor.get_executor());
      continue;
    }
    shared_->accept_backoff.succeeded();
    shared_->accepted.fetch_add(1, std::memory_order_relaxed);
    bool over_limit = shared_->open.fetch_add(1, std::memory_order_relaxed) >= options_.max_connections;
    asio::post(worker.loop.context(), [this, &worker, over_limit, socket = std::move(socket)]() mutable {
      if (over_limit) {
        admit_or_reject(worker, std::move(socket));
      } else {
        admit(worker, std::move(socket));
      }
    });
  }
}

void Server::admit(Worker& worker, asio::ip::tcp::socket socket) {
  if (auto context = shared_->tls.load()) {
    asio::co_spawn(worker.loop.context(), admit_after_handshake(worker, std::move(socket), std::move(context)),
                   asio::detached);
    return;
  }
  auto connection = std::make_shared<ServerConnection>(std::move(socket), nullptr, *shared_, worker.connections);
  connection->start();
  if (worker.connections.draining) connection->begin_drain();
}

// Counted as open from the accept: a handshake in progress holds a place
// under max_connections, as a connection does.
asio::awaitable<void> Server::admit_after_handshake(Worker& worker, asio::ip::tcp::socket socket,
                                                    std::shared_ptr<const tls::Context> context) {
  std::unique_ptr<tls::Session> session;
  std::string failure;
  error_code ec;
  const auto peer = socket.remote_endpoint(ec);
  socket.non_blocking(true, ec);
  try {
    session = std::make_unique<tls::Session>(std::move(context), socket.native_handle(), std::string_view{},
                                             tls::Session::Reads::fed);
    failure = co_await tls::async_handshake(socket, *session,
                                            std::chrono::steady_clock::now() + options_.tls_handshake_timeout);
  } catch (const std::exception& e) {
    failure = e.what();
  }
  if (!failure.empty()) {
    // Counted before the close: the peer sees the close after the figures say so.
    shared_->tls_failures.note(format_host_port(peer) + ": " + failure);
    shared_->open.fetch_sub(1, std::memory_order_relaxed);
    socket.close(ec);
    co_return;
  }
  shared_->tls_handshakes.fetch_add(1, std::memory_order_relaxed);
  if (session->resumed()) shared_->tls_resumed.fetch_add(1, std::memory_order_relaxed);
  auto connection =
      std::make_shared<ServerConnection>(std::move(socket), std::move(session), *shared_, worker.connections);
  connection->start();
  if (worker.connections.draining) connection->begin_drain();
}

void Server::admit_or_reject(Worker& worker, asio::ip::tcp::socket socket) {
  if (ServerConnection* quietest = quietest_connection(worker.connections)) {
    // Nothing is pending on it (quiet_for is zero otherwise), so closing it
    // loses nothing; its count drops as soon as its coroutines see the close.
    common::log().debug("connection limit reached: closing the quietest connection to admit a new one");
    quietest->close();
    shared_->evicted.fetch_add(1, std::memory_order_relaxed);
    admit(worker, std::move(socket));
    return;
  }
  shared_->open.fetch_sub(1, std::memory_order_relaxed);
  shared_->rejected.fetch_add(1, std::memory_order_relaxed);
  asio::co_spawn(worker.loop.context(), reject_connection(std::move(socket)), asio::detached);
}

asio::ip::tcp::endpoint Server::local_endpoint() const { return endpoint_; }

std::vector<asio::any_io_executor> Server::executors() const {
  std::vector<asio::any_io_executor> out;
  for (const auto& worker : workers_) out.push_back(worker->loop.executor());
  return out;
}

void Server::stop(std::function<void()> when_drained) {
  if (workers_.empty() || stopping_.exchange(true)) return;
  // The last worker to finish draining runs `when_drained`.
  auto remaining = std::make_shared<std::atomic<std::size_t>>(workers_.size());
  auto done = [remaining, when_drained = std::move(when_drained)] {
    if (remaining->fetch_sub(1) == 1 && when_drained) when_drained();
  };
  asio::post(workers_[0]->loop.context(), [acceptor = acceptor_] {
    error_code ec;
    if (acceptor) acceptor->close(ec);  // none if prepare() failed to bind
  });
  for (auto& worker : workers_) {
    asio::post(worker->loop.context(), [w = worker.get(), timeout = options_.drain_timeout, done] {
      w->begin_drain(timeout, done);
    });
  }
}

void Server::wait() {
  for (auto& worker : workers_) worker->loop.join();
}

ServerStats Server::stats() const {
  return {shared_->open.load(),        shared_->accepted.load(),       shared_->rejected.load(),
          shared_->evicted.load(),     shared_->accept_backoff.errors(), shared_->tls_handshakes.load(),
          shared_->tls_resumed.load(), shared_->tls_failures.total(), shared_->pings.load()};
}

std::shared_ptr<const tls::Context> Server::tls_context() const { return shared_->tls.load(); }

void Server::set_tls(std::shared_ptr<const tls::Context> context) { shared_->tls.store(std::move(context)); }

}  // namespace routing::rpc

namespace routing::rpc {

bool Server::writes_trace_log() const { return shared_ && shared_->spans; }

std::optional<std::string> Server::reopen_trace_log() {
  if (!writes_trace_log()) return std::nullopt;
  return shared_->spans->reopen();
}

}  // namespace routing::rpc
