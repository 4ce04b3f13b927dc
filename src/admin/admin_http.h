#pragma once
// The servers' admin endpoint (routerd's and discoveryd's): a small HTTP/1.1
// server (Boost.Beast) answering GET /metrics (Prometheus text), GET /healthz,
// GET /readyz, and where the program has them GET /status (JSON), /config
// and / (an HTML status page). It runs on its own event loop, away from the
// call path.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace routing::rpc::tls {
class Context;
}

namespace routing::admin {

// An HTML page and the Content-Security-Policy that must travel with it
// (a per-response nonce appears in both).
struct HtmlPage {
  std::string body;
  std::string content_security_policy;
};

struct AdminPages {
  std::function<std::string()> metrics;
  std::function<std::string()> status;  // absent: /status answers 404
  std::function<bool()> ready;  // false: /readyz answers 503 (starting, or draining); /healthz: 200 until exit
  std::function<std::string()> config;  // /config: the settings in force (TOML, secrets masked)
  std::function<HtmlPage()> index;      // /: the human-readable status page (unset: 404)
};

struct AdminLimits {
  // Connections open at once, so idle admin connections cannot use up the
  // descriptors the main port needs. At the limit a newcomer replaces the
  // connection waiting longest (>= 1 s) for its next request; when none has
  // waited that long it gets "503" and is closed.
  std::size_t max_connections = 64;
};

struct AdminStats {
  std::size_t open_connections = 0;
  std::uint64_t rejected_total = 0;       // refused over max_connections
  std::uint64_t evicted_total = 0;        // idle ones closed to admit newcomers at the limit
  std::uint64_t accept_errors_total = 0;  // failed accepts (each followed by a pause)
  std::uint64_t tls_handshake_failures_total = 0;  // HTTPS connections refused at the handshake
};

class AdminServer {
 public:
  // Binds `address` ("host:port"); throws on failure. `program` ("routerd",
  // "discoveryd") names the server in every answer's `Server` header.
  // `tls`: HTTPS only (--admin-tls-*), from the first connection on.
  AdminServer(boost::asio::any_io_executor executor, std::string program, const std::string& address,
              AdminPages pages, AdminLimits limits = {}, std::shared_ptr<const rpc::tls::Context> tls = nullptr);
  ~AdminServer();
  boost::asio::ip::tcp::endpoint local_endpoint() const;
  void stop();  // thread-safe
  AdminStats stats() const;  // thread-safe
  // HTTPS from now on with this server context (--admin-tls-*; null: plain
  // HTTP). Connections accepted before keep what they started with. Call
  // before the first client, and again on a certificate reload.
  void set_tls(const std::shared_ptr<const rpc::tls::Context>& context);
  bool tls_enabled() const;
  std::shared_ptr<const rpc::tls::Context> tls_context() const;  // null: plain HTTP

 private:
  struct State;
  std::shared_ptr<State> state_;
};

}  // namespace routing::admin

// routerd's code (src/proxy, apps/routerd) knew these as proxy:: before they
// moved here for discoveryd to share.
namespace routing::proxy {
using admin::AdminLimits;
using admin::AdminPages;
using admin::AdminServer;
using admin::AdminStats;
using admin::HtmlPage;
}  // namespace routing::proxy
