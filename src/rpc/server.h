#pragma once
// The line-protocol server: N workers (a loop and its thread each); one
// listener deals accepted connections round-robin to them, and a connection
// never changes thread. Handlers are keyed by procedure: coroutines
// (the general kind), or callbacks that answer through a Responder (no
// coroutine frame: for the hot paths, e.g. routerd's ROUTE and echod's ECHO).
#include <routing/reply.h>

#include "rpc/asio_fwd.h"
#include "rpc/codec.h"
#include "rpc/server_options.h"

#include <boost/asio/ip/tcp.hpp>

#include <any>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

namespace routing::rpc {

// What a handler knows of the connection its call came on, shared by every
// call on it.
struct ConnectionContext {
  asio::ip::tcp::endpoint peer;
  // The client's identity from its verified TLS certificate (CONTRACT §9);
  // empty without one.
  std::string identity;
  asio::any_io_executor executor;  // the connection's loop: where a Responder must answer
  std::any state;  // per-connection state a service may keep (e.g. auth)
  bool peer_gone = false;  // the client closed or reset the connection
  // Set by a handler before it answers: the connection closes once that
  // answer is written, serving nothing it read after the call (e.g. too many
  // failed authentications on it).
  bool close_after_answer = false;
};

// What a handler knows of its own call. It stays valid until the call is
// answered: for a callback handler, as long as its Responder lives; for a
// coroutine handler, until it returns. Tagged calls (CONTRACT §8) run
// concurrently on one connection, each with a CallContext of its own.
struct CallContext {
  using Clock = std::chrono::steady_clock;
  explicit CallContext(ConnectionContext& connection) : connection(connection) {}

  ConnectionContext& connection;
  std::uint64_t id = 0;  // the tag of a tagged call; 0 for the line form
  std::uint32_t procedure = 0;  // set for tagged calls
  // A callback handler's payload as it came on the line, before the line
  // protocol's unescaping (Frame::raw_payload); valid as the payload is.
  std::string_view payload_as_sent;
  Clock::time_point deadline = Clock::time_point::max();  // from deadline-ms
  std::string traceparent;  // as the caller sent it (tagged calls only)
  std::string request_id;
  // Set by a handler while its call is unanswered: run once, on the
  // connection's loop, when the call is given up: cancelled by the client
  // (cancel=), past its deadline (the server has answered 4 already), or its
  // client closed or reset the connection. An answer given after that is
  // dropped (or, for a client that only half-closed, still written). For an
  // untagged call it is watched only while the client has sent nothing
  // beyond the call (a client pipelining calls is still there).
  // docs/reliability.md.
  std::function<void()> on_abandoned;
  bool abandoned = false;
  // What a hop passes on to the calls it makes for this one: the caller's
  // trace with this server's span as the parent when the server logs spans
  // (ServerOptions::trace_log), else the caller's traceparent as it came.
  std::string child_traceparent;
  // This call's server span while it is logged (empty: not logged).
  std::string span_id;
  std::chrono::system_clock::time_point span_start;
  Clock::time_point span_began;

  // False once the call was given up or its deadline has passed: a handler
  // asks before (or while) doing work nobody may wait for.
  bool wanted() const { return !abandoned && Clock::now() < deadline; }
};

using Handler = std::function<asio::awaitable<Reply>(std::string payload, CallContext&)>;

class ServerConnection;

// Answers one call of a callback handler, at once or later, on the
// connection's thread (ConnectionContext::executor). Move-only. A Responder destroyed unanswered (the
// handler threw, or dropped it) answers 13 "internal error", so a call is
// never left without an answer. It keeps the connection object (and the
// call's CallContext) alive until it answers.
class Responder {
 public:
  static constexpr std::uint32_t untagged = UINT32_MAX;

  Responder() = default;
  Responder(std::shared_ptr<ServerConnection> connection, std::uint32_t slot);
  Responder(Responder&&) noexcept = default;
  Responder& operator=(Responder&& other) noexcept;
  ~Responder();

  void answer(Status status, std::string_view payload);
  void answer(const Reply& reply) { answer(reply.status, reply.payload); }
  // The book's transport (CONTRACT §12): `bytes` alone, no status and no
  // line end, as the book's services answer. A tagged call (the book's
  // clients send none) is answered as usual, with `tagged_status`.
  void answer_bare(std::string_view bytes, Status tagged_status = Status::ok);
  explicit operator bool() const { return connection_ != nullptr; }

 private:
  std::shared_ptr<ServerConnection> connection_;
  std::uint32_t slot_ = untagged;  // which call: the untagged one, or a tagged call's slot
};

// The callback kind: must answer through `responder` exactly once. The
// payload is the connection's read buffer: for an untagged call it stays
// valid until the call is answered (the connection reads nothing else
// meanwhile); for a tagged call only until the handler returns (the next
// frame is read into it). A handler that needs it longer moves it out.
using CallbackHandler = std::function<void(std::string& payload, CallContext&, Responder responder)>;

struct ServerStats {
  std::size_t open_connections = 0;
  std::uint64_t accepted_total = 0;
  std::uint64_t rejected_total = 0;   // over max_connections
  std::uint64_t evicted_total = 0;    // quiet connections closed to admit new ones at the limit
  std::uint64_t accept_errors_total = 0;  // failed accepts (e.g. out of descriptors), each followed by a pause
  std::uint64_t tls_handshakes_total = 0;          // completed (resumed ones included)
  std::uint64_t tls_resumed_total = 0;             // completed by resuming a session
  std::uint64_t tls_handshake_failures_total = 0;  // refused before any procedure ran
  std::uint64_t pings_total = 0;                   // procedure 0 answered (health checks)
};

class Server {
 public:
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  // Registers a procedure; call before start(). Procedure 0 is ping, built in.
  void handle(std::uint32_t procedure, Handler handler);
  void handle_callback(std::uint32_t procedure, CallbackHandler handler);

  // Binds the listener and starts the workers, then accepts. Throws on bind
  // failure, or when the TLS files (ServerOptions::tls) do not make a context. start() = prepare() + start_accepting(); in between, the
  // workers' loops run (e.g. to set up a router on them) while connections
  // wait in the listen backlog.
  void start();
  void prepare();
  void start_accepting();
  asio::ip::tcp::endpoint local_endpoint() const;
  // Handles to the workers' loops (after prepare()), e.g. to run a router on
  // them.
  std::vector<asio::any_io_executor> executors() const;

  // Graceful stop, from any thread, idempotent: stop accepting, let the calls
  // in flight finish and their answers be written, then close. Connections
  // still busy after drain_timeout are cut. `when_drained` runs (on a worker
  // thread) once every connection is gone: the moment to stop other work on
  // the workers' loops (e.g. a router), so that they can finish.
  void stop(std::function<void()> when_drained = {});
  // Blocks until every worker has finished.
  void wait();

  ServerStats stats() const;
  // The listener's TLS context (null: plain TCP). set_tls swaps it for the
  // connections accepted from then on (a reload); connections keep theirs.
  std::shared_ptr<const tls::Context> tls_context() const;
  void set_tls(std::shared_ptr<const tls::Context> context);
  const ServerOptions& options() const { return options_; }
  // Log rotation (SIGUSR1): opens --trace-log again by its name; an error
  // message (the old file stays in use), or nullopt. Nothing without one.
  std::optional<std::string> reopen_trace_log();
  bool writes_trace_log() const;

 private:
  struct Worker;
  struct Shared;
  asio::awaitable<void> accept_loop(asio::ip::tcp::acceptor& acceptor);
  // On `worker`'s thread: serve `socket` (already counted as open).
  void admit(Worker& worker, asio::ip::tcp::socket socket);
  // The same after a TLS handshake within the handshake timeout.
  asio::awaitable<void> admit_after_handshake(Worker& worker, asio::ip::tcp::socket socket,
                                              std::shared_ptr<const tls::Context> context);
  // On `worker`'s thread, at the connection limit: admit `socket` in place of
  // the worker's quietest connection, or turn it away with status 8.
  void admit_or_reject(Worker& worker, asio::ip::tcp::socket socket);

  ServerOptions options_;
  std::shared_ptr<Shared> shared_;
  std::vector<std::unique_ptr<Worker>> workers_;
  std::shared_ptr<asio::ip::tcp::acceptor> acceptor_;
  asio::ip::tcp::endpoint endpoint_;
  std::atomic<bool> stopping_{false};
};

}  // namespace routing::rpc
