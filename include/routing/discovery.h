#pragma once
// routing::Resolver — plug your own discovery into routing::Router
// (RouterOptions::resolver): a Consul or Kubernetes client, a file you
// watch, a fixed map. The router asks it for the "host:port" addresses of a
// system name once, on the system's first call, then follows the name with
// watch() until the system is forgotten. See docs/library.md.
//
// Deliberately small and free of Asio, so that it stays stable while the
// router's internal discovery (src/discovery/discovery.h) changes: the
// router adapts it on its side.
#include <routing/status.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

namespace routing {

// The instances of one name, as "host:port" (IPv6: "[::1]:7001"; a host
// name is looked up by the router). An empty list with status ok: the name
// has no instance (calls get 5 NOT_FOUND). Any other status: the source
// could not be asked (calls get 14 UNAVAILABLE; error says why).
struct Resolution {
  Status status = Status::ok;
  std::string error;
  std::vector<std::string> addresses;
};

// Ends one watch when destroyed: after its destructor returns, the callback
// may still be running on another thread, but must not be called again.
class ResolverWatch {
 public:
  virtual ~ResolverWatch() = default;
};

class Resolver {
 public:
  using Done = std::function<void(Resolution)>;
  using OnChange = std::function<void(std::vector<std::string> addresses)>;

  virtual ~Resolver() = default;

  // Looks `name` up and calls `done` exactly once, from any thread (also
  // before returning). Runs on a router thread: do not block in it; answer
  // later from your own thread if the source is slow. The first call of a
  // system waits for `done` no longer than its own deadline.
  virtual void resolve(const std::string& name, Done done) = 0;

  // Follows `name`: calls `on_change` with the full current list whenever it
  // changes (a repeat of the same list is harmless), from any thread, until
  // the returned watch is destroyed. It need not call it at once: resolve()
  // gave the first list.
  virtual std::unique_ptr<ResolverWatch> watch(const std::string& name, OnChange on_change) = 0;
};

}  // namespace routing
