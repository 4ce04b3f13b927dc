#include "admin/admin_http.h"

#include "common/log.h"
#include "rpc/accept_backoff.h"
#include "rpc/address.h"
#include "rpc/tls/asio_context.h"
#include "common/shared_snapshot.h"
#include "common/throttled_log.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <unordered_map>

namespace routing::admin {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

http::response<http::string_body> answer(const http::request<http::string_body>& request, const AdminPages& pages,
                                         std::string_view program) {
  http::response<http::string_body> response{http::status::ok, request.version()};
  response.set(http::field::server, program);
  std::string_view target = request.target();
  if (auto query = target.find('?'); query != std::string_view::npos) target = target.substr(0, query);
  auto set = [&](http::status status, std::string_view type, std::string body) {
    response.result(status);
    response.set(http::field::content_type, type);
    response.body() = std::move(body);
  };
  if (request.method() != http::verb::get && request.method() != http::verb::head) {
    set(http::status::method_not_allowed, "text/plain", "only GET\n");
    response.set(http::field::allow, "GET, HEAD");
  } else if (target == "/metrics") {
    set(http::status::ok, "text/plain; version=0.0.4; charset=utf-8", pages.metrics());
  } else if (target == "/status" && pages.status) {
    set(http::status::ok, "application/json", pages.status() + "\n");
  } else if (target == "/config" && pages.config) {
    set(http::status::ok, "text/plain; charset=utf-8", pages.config());
  } else if (target == "/" && pages.index) {
    HtmlPage page = pages.index();
    set(http::status::ok, "text/html; charset=utf-8", std::move(page.body));
    response.set("Content-Security-Policy", page.content_security_policy);
    response.set("X-Content-Type-Options", "nosniff");
    response.set(http::field::cache_control, "no-store");  // live figures: never from a cache
  } else if (target == "/healthz") {
    set(http::status::ok, "text/plain", "ok\n");  // alive: until the process exits
  } else if (target == "/readyz") {
    bool ready = pages.ready();
    set(ready ? http::status::ok : http::status::service_unavailable, "text/plain", ready ? "ready\n" : "not ready\n");
  } else {
    set(http::status::not_found, "text/plain", "not found: try /metrics, /status, /config, /healthz or /readyz\n");
  }
  response.keep_alive(request.keep_alive());
  response.prepare_payload();
  return response;
}

// Past the connection limit: say why, best effort (one non-blocking send, no
// coroutine, nothing held), and close at once.
void refuse(tcp::socket& socket) {
  static const std::string busy = [] {
    std::string body = "too many admin connections\n";
    return "HTTP/1.1 503 Service Unavailable\r\nContent-Type: text/plain\r\nConnection: close\r\n"
           "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  }();
  boost::system::error_code ignored;
  socket.non_blocking(true, ignored);
  socket.send(asio::buffer(busy), 0, ignored);
  socket.shutdown(tcp::socket::shutdown_send, ignored);
  socket.close(ignored);
}

}  // namespace

struct AdminServer::State : std::enable_shared_from_this<State> {
  tcp::acceptor acceptor;
  const std::string program;  // the Server header
  AdminPages pages;
  AdminLimits limits;
  rpc::AcceptBackoff accept_backoff{"admin"};
  std::atomic<std::size_t> open{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> evicted{0};
  // Connections waiting for their next request (keep-alive), by number: at
  // the limit the one waiting longest makes room for a newcomer, so idle
  // connections cannot keep scrapes out for their whole timeout.
  struct Waiting {
    tcp::socket* socket;
    std::chrono::steady_clock::time_point since;
  };
  std::unordered_map<std::uint64_t, Waiting> waiting;
  std::uint64_t next_number = 0;
  // --admin-tls-*: HTTPS only (null: plain HTTP); replaced by a reload.
  common::SharedSnapshot<asio::ssl::context> tls;
  common::SharedSnapshot<const rpc::tls::Context> tls_source;  // what `tls` was made from
  common::ThrottledLog tls_failures{"admin TLS handshake(s) failed", std::chrono::seconds(1)};

  State(asio::any_io_executor executor, std::string name, AdminPages p, AdminLimits l)
      : acceptor(executor), program(std::move(name)), pages(std::move(p)), limits(l) {}

  asio::awaitable<void> serve(tcp::socket socket) {
    auto self = shared_from_this();
    struct Counted {  // the connection counts as open until this coroutine ends
      std::atomic<std::size_t>& open;
      ~Counted() { open.fetch_sub(1, std::memory_order_relaxed); }
    } counted{open};
    auto context = tls.load();
    if (!context) {
      beast::tcp_stream stream(std::move(socket));
      co_await serve_requests(stream);
      co_return;
    }
    boost::system::error_code peer_ec;
    const auto peer = socket.remote_endpoint(peer_ec);
    beast::ssl_stream<beast::tcp_stream> stream(std::move(socket), *context);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(10));  // a stalled handshake cannot hold it
    // Evictable while it shakes hands, as while it waits for a request: a
    // client that never finishes cannot keep scrapers out at the limit.
    const std::uint64_t number = ++next_number;
    waiting[number] = {&beast::get_lowest_layer(stream).socket(), std::chrono::steady_clock::now()};
    auto [handshake_ec] = co_await stream.async_handshake(asio::ssl::stream_base::server, use_nothrow);
    waiting.erase(number);
    if (handshake_ec) {
      tls_failures.note(rpc::format_host_port(peer) + ": " + handshake_ec.message());
      co_return;
    }
    co_await serve_requests(stream);
  }

  // HTTP/1.1 requests on one connection, plain or TLS, until it closes.
  template <class Stream>
  asio::awaitable<void> serve_requests(Stream& stream) {
    beast::tcp_stream& lowest = beast::get_lowest_layer(stream);
    beast::flat_buffer buffer;
    const std::uint64_t number = ++next_number;
    for (;;) {
      lowest.expires_after(std::chrono::seconds(30));  // a stalled client cannot hold it
      http::request_parser<http::string_body> parser;
      parser.body_limit(64 * 1024);
      parser.header_limit(16 * 1024);
      waiting[number] = {&lowest.socket(), std::chrono::steady_clock::now()};
      auto [read_ec, n] = co_await http::async_read(stream, buffer, parser, use_nothrow);
      waiting.erase(number);
      if (read_ec) break;
      auto response = answer(parser.get(), pages, program);
      auto [write_ec, written] = co_await http::async_write(stream, response, use_nothrow);
      if (write_ec || !response.keep_alive()) break;
    }
    beast::error_code ignored;
    lowest.socket().shutdown(tcp::socket::shutdown_send, ignored);
  }

  asio::awaitable<void> accept_loop() {
    auto self = shared_from_this();
    for (;;) {
      auto [ec, socket] = co_await acceptor.async_accept(use_nothrow);
      if (ec == asio::error::operation_aborted || !acceptor.is_open()) co_return;
      if (ec) {
        co_await accept_backoff.pause_after(ec, acceptor.get_executor());
        continue;
      }
      accept_backoff.succeeded();
      admit(std::move(socket));
    }
  }

  // Closes the connection waiting longest for a request, if that is at least
  // a second (a client between two requests of one scrape is not idle).
  bool evict_longest_waiting() {
    auto cutoff = std::chrono::steady_clock::now() - std::chrono::seconds(1);
    auto longest = waiting.end();
    for (auto it = waiting.begin(); it != waiting.end(); ++it) {
      if (it->second.since <= cutoff && (longest == waiting.end() || it->second.since < longest->second.since)) {
        longest = it;
      }
    }
    if (longest == waiting.end()) return false;
    boost::system::error_code ignored;
    longest->second.socket->close(ignored);  // its read ends; its coroutine uncounts it
    waiting.erase(longest);
    evicted.fetch_add(1, std::memory_order_relaxed);
    return true;
  }

  void admit(tcp::socket socket) {
    if (open.load(std::memory_order_relaxed) >= limits.max_connections) {
      if (!evict_longest_waiting()) {
        rejected.fetch_add(1, std::memory_order_relaxed);
        refuse(socket);
        return;
      }
    }
    open.fetch_add(1, std::memory_order_relaxed);
    asio::co_spawn(acceptor.get_executor(), serve(std::move(socket)), asio::detached);
  }
};

AdminServer::AdminServer(asio::any_io_executor executor, std::string program, const std::string& address,
                         AdminPages pages, AdminLimits limits, std::shared_ptr<const rpc::tls::Context> tls)
    : state_(std::make_shared<State>(executor, std::move(program), std::move(pages), limits)) {
  set_tls(tls);
  auto endpoint = rpc::resolve_endpoint(address);
  state_->acceptor.open(endpoint.protocol());
  state_->acceptor.set_option(asio::socket_base::reuse_address(true));
  // No SO_REUSEPORT: like the main port, an admin port already taken is an
  // error (the program exits 1 saying so), never a port silently shared with
  // another process that would then answer half of the scrapes and probes.
  state_->acceptor.bind(endpoint);
  state_->acceptor.listen();
  asio::co_spawn(executor, state_->accept_loop(), asio::detached);
}

AdminServer::~AdminServer() { stop(); }

tcp::endpoint AdminServer::local_endpoint() const {
  boost::system::error_code ec;
  return state_->acceptor.local_endpoint(ec);
}

AdminStats AdminServer::stats() const {
  return {state_->open.load(), state_->rejected.load(), state_->evicted.load(), state_->accept_backoff.errors(),
          state_->tls_failures.total()};
}

void AdminServer::set_tls(const std::shared_ptr<const rpc::tls::Context>& context) {
  state_->tls.store(context ? rpc::tls::asio_context_of(*context) : nullptr);
  state_->tls_source.store(context);
}

bool AdminServer::tls_enabled() const { return state_->tls.load() != nullptr; }

std::shared_ptr<const rpc::tls::Context> AdminServer::tls_context() const { return state_->tls_source.load(); }

void AdminServer::stop() {
  asio::post(state_->acceptor.get_executor(), [state = state_] {
    boost::system::error_code ignored;
    state->acceptor.close(ignored);
  });
}

}  // namespace routing::admin
