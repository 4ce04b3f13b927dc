#pragma once
// routing::Router — library mode: route calls to a system's backends from
// inside your process, with the router's own connection pools (no proxy hop).
// See docs/library.md.
//
//   routing::Router router(routing::RouterOptions{.discovery = "rpc://127.0.0.1:10200"});
//   routing::Reply r = router.call("echo", 1, "hello");          // blocking
//   routing::Reply r = co_await router.async_call("echo", 1, "hello");
//
// Thread-safe: any number of threads may call one Router at once, and any
// number of coroutines may await it at once.
#include <routing/discovery.h>
#include <routing/reply.h>
#include <routing/stats.h>

#include <boost/asio/awaitable.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace routing {

// TLS on the router's connections to backends (CONTRACT §9). With `ca_file`
// set, every backend connection speaks TLS 1.3 and the backend must present
// a certificate signed by that CA for its name: the host part of its
// registered address, or `server_name` when set. `cert_file`/`key_file`
// (PEM, both or neither): the client certificate presented to backends that
// ask for one (mutual TLS). Pooled TLS connections are reused like plain
// ones. The same settings reach discovery when its URL is rpcs:// or
// etcds://. Files that cannot be loaded make the Router constructor throw
// std::invalid_argument. docs/security.md.
struct TlsClientOptions {
  std::string ca_file{};
  std::string cert_file{};
  std::string key_file{};
  std::string server_name{};

  bool operator==(const TlsClientOptions&) const = default;
};

struct RouterOptions {
  // Where systems are found: rpc://host:port, etcd://host:port[,...],
  // book://host:port (the book's discovery: docs/book.md) or
  // static://name=host:port[@zone][*weight][,...][;name=...]; rpcs:// and etcds:// over TLS
  // (they need tls.ca_file).
  std::string discovery = "rpc://127.0.0.1:10200";
  // Systems whose backends are the book's services (CONTRACT §12,
  // docs/book.md): spoken to in the book's transport (one request per
  // connection, the answer read as the bytes that arrive), checked by TCP
  // connect only. Empty: every system when `discovery` is book://, none
  // otherwise.
  std::vector<std::string> book_systems{};
  // Your own discovery instead (routing/discovery.h): when set, `discovery`
  // is ignored and systems are looked up and followed through it. Shared,
  // as the router keeps using it until it is destroyed.
  std::shared_ptr<Resolver> resolver = nullptr;
  // round-robin, random, least-connections, pick-2 or peak-ewma. Backends'
  // weights (discovery's "weight", CONTRACT §11) bias each of them.
  std::string strategy = "round-robin";
  // The zone this router runs in (CONTRACT §11, docs/zones.md): calls go to
  // backends registered in the same zone while that zone has enough of its
  // capacity healthy, and spill over to the other zones, in proportion to
  // what it lacks, when it has not. Empty: no zone, every backend is near.
  std::string zone{};
  // Per system: at most this many calls in flight, and at most this many
  // connections open (in use and idle together).
  std::size_t pool_size = 10;
  // Size the pools by themselves instead (routerd: --pool-size auto): each
  // backend's limit follows Little's Law (its arrival rate × latency, plus
  // headroom), cut while its latency climbs above its measured minimum (it
  // is queueing); a system's limit is the sum over its available backends,
  // and calls go to backends below their limit first. pool_size is then each
  // backend's starting limit. See docs/adaptive.md.
  bool adaptive_pool = false;
  // With adaptive_pool: a system's limit stays within these bounds.
  std::size_t adaptive_min_pool = 1;
  std::size_t adaptive_max_pool = 1000;
  // With adaptive_pool: how often the limits are recomputed (one window).
  std::chrono::milliseconds adaptive_interval{100};
  // peak-ewma: the time constant of the latency estimate's decay.
  std::chrono::milliseconds peak_ewma_decay{10000};
  // Slow start: a backend that joins a system (after its first backend
  // set), or comes back from ejection or failed health checks, gets a share
  // of calls ramping from 10% to its full share over this window. 0: off.
  std::chrono::milliseconds slow_start{0};
  // Per system: calls that may wait for a slot; past it calls get status 8.
  std::size_t max_pending = 1000;
  // Default deadline of a call: waiting for a slot, connecting and the exchange.
  std::chrono::milliseconds request_timeout{5000};
  // The longest deadline a call may ask for (CallOptions::timeout, routerd's
  // "timeout_ms"): longer ones are cut to this, so that no caller can hold a
  // slot for longer. At least request_timeout.
  std::chrono::milliseconds max_request_timeout{60000};
  // Connecting to a backend gives up after this (within the call's deadline).
  std::chrono::milliseconds connect_timeout{1000};
  // Idle pooled connections are closed after this.
  std::chrono::milliseconds idle_timeout{60000};

  // Active health checks of each backend at this interval (0 disables);
  // `unhealthy_after` failures in a row take it out, one success brings it
  // back. `health_check`: "procedure" pings (procedure 0, which every server
  // of this project's RPC library answers); "tcp" only connects, for
  // backends that do not answer procedure 0 (give them verify_answers =
  // false too: it pings behind every request); "off" checks nothing.
  std::string health_check = "procedure";
  std::chrono::milliseconds health_check_interval{1000};
  std::chrono::milliseconds health_check_timeout{500};
  unsigned unhealthy_after = 2;
  // At most this many pings a second, over every system (rounds spend a
  // token bucket of one interval's worth): past that many backends nobody
  // calls, each is checked less often than every interval. Backends that
  // answered a call within the interval pass without a ping, uncounted.
  std::size_t max_health_checks_per_second = 1000;

  // Passive ejection: a backend whose calls fail (connection refused or
  // broken) `eject_after` times in a row is ejected for base × the number of
  // times it was ejected (at most max), but never more than
  // max_ejected_percent of a system's backends at once.
  unsigned eject_after = 5;
  std::chrono::milliseconds base_ejection_time{1000};
  std::chrono::milliseconds max_ejection_time{30000};
  unsigned max_ejected_percent = 50;

  // Retry budget (as Finagle): retries may add at most this share of recent
  // calls, plus a floor per second, over a 10 s window.
  double retry_ratio = 0.2;
  unsigned min_retries_per_second = 10;

  // When discovery suddenly lists no instance of a system that had some, keep
  // routing to the last known ones for this long (health checks still police
  // them) before believing it: a discovery server that restarted has an empty
  // registry until instances re-register, and an empty answer would otherwise
  // fail every call with status 5. Any non-empty answer is applied at once.
  // 0: believe empty answers at once.
  std::chrono::milliseconds empty_discovery_grace{5000};

  // A system with no instances and no call for this long is forgotten (its
  // discovery watch and health checks stop), so that calls naming systems
  // that do not exist cannot pile up state.
  std::chrono::milliseconds unused_system_retention{60000};
  // At most this many systems at once (each keeps a discovery watch, health
  // checks and figures); a call naming one more new system gets status 8.
  std::size_t max_systems = 10000;
  // A name discovery did not know is remembered as unknown for this long:
  // calls to it get status 5 at once, without asking discovery again (a
  // system registered meanwhile is seen after at most this long). At most
  // max_unknown_names are remembered, the oldest forgotten first.
  std::chrono::milliseconds unknown_name_ttl{1000};
  std::size_t max_unknown_names = 10000;

  // Proves each backend answer belongs to its call: a ping goes right behind
  // every request, and an answer counts only if that ping's pong follows it.
  // A backend that answers twice (or late) then fails the call with 14
  // instead of handing it another call's answer (the line protocol has no
  // call ids). Costs one tiny frame each way per call. docs/reliability.md.
  bool verify_answers = true;
  // Tagged frames to backends (CONTRACT §8): each new connection asks its
  // backend once whether it speaks them (`0#1:`, one round trip). One that
  // does carries several calls at once, each with its remaining deadline,
  // trace context and request id; answers are matched by id (verify_answers
  // is not needed there), and a call that misses its deadline or is given up
  // is cancelled alone while the connection serves on. A version-1 backend
  // gets the line protocol, one call at a time per connection. false: line
  // protocol everywhere.
  bool tagged_frames = true;
  // Calls one tagged connection carries before another is opened (while
  // pool_size allows: at the bound, calls share the least loaded one).
  // Fewer connections batch more answers per read and write; more spread a
  // backend's calls over its threads. docs/performance.md has the numbers.
  std::size_t calls_per_connection = 8;
  // Appends a JSON line per call that carried a valid traceparent (its
  // client span: the span id the backend sees as its parent) to this file;
  // empty: none. The file is opened when the router starts; one that cannot
  // be opened is logged (error) and no spans are written (calls are not
  // affected). docs/operations.md, "Trace log".
  std::string trace_log{};
  // Backends registered by host name (not a literal IP) are looked up off
  // the event loops (Asio's resolver thread), each attempt given up after
  // dns_timeout, and looked up again every dns_refresh (0: only once) so a
  // changed address is followed; a failed lookup keeps the last good
  // address. Until its first answer such a backend gets no calls.
  std::chrono::milliseconds dns_refresh{30000};
  std::chrono::milliseconds dns_timeout{2000};

  // TLS to backends (see TlsClientOptions); empty ca_file: plain TCP.
  TlsClientOptions tls{};

  // Event loops the router runs its calls on (library mode).
  unsigned threads = 1;
  std::size_t max_frame_bytes = 1024 * 1024;

  bool operator==(const RouterOptions&) const = default;
};

struct CallOptions {
  std::optional<std::chrono::milliseconds> timeout;  // default: request_timeout
  // The call may be resent once to another backend if its backend fails
  // while it is in flight (only safe when processing it twice is harmless).
  bool idempotent = false;
  // Carried to backends that speak tagged frames (CONTRACT §8): a W3C
  // traceparent (the router passes on its own span; not valid: not sent)
  // and an opaque request id. Empty: none. Viewed, not owned: they must stay
  // valid until call()/call_then() returns or async_call()'s co_await ends;
  // the router copies them when the call starts. (Views keep CallOptions
  // trivially destructible: GCC 12 frees owning members of an aggregate
  // temporary twice when it is an argument inside a co_await expression.)
  std::string_view traceparent{};
  std::string_view request_id{};
};

namespace core {
class RouterCore;
}

class Router {
 public:
  // Throws std::invalid_argument for a bad discovery URL, strategy or limit.
  explicit Router(RouterOptions options = {});
  ~Router();
  Router(const Router&) = delete;
  Router& operator=(const Router&) = delete;

  // Blocking call. Must not be made from inside the router's own callbacks.
  Reply call(std::string_view system, std::uint32_t procedure, std::string_view payload,
             const CallOptions& options = {});

  // The same as a coroutine; resumes on the awaiting coroutine's executor.
  boost::asio::awaitable<Reply> async_call(std::string system, std::uint32_t procedure,
                                           std::string payload, CallOptions options = {});

  // Switches the strategy of one system, or (without `system`) of every
  // system, clearing per-system choices. False for an unknown strategy.
  bool set_strategy(std::string_view strategy, std::optional<std::string> system = std::nullopt);

  // Maintenance (CONTRACT §11): while drained, the backend `address` of
  // `system` gets no new calls and its calls in flight finish. Held by
  // address until undrained, also while the backend restarts and
  // re-registers. `listed`: the router has it among the system's backends
  // now; `not_listed`: recorded all the same (it applies when it appears);
  // `too_many`: refused, the system has 1000 drained addresses already, or
  // the system is new and max_systems exist.
  enum class Drain { listed, not_listed, too_many };
  Drain set_drained(std::string_view system, std::string_view address, bool drained);

  RouterStats stats() const;

 private:
  struct Threads;
  std::unique_ptr<Threads> threads_;
  std::unique_ptr<core::RouterCore> core_;
};

}  // namespace routing
