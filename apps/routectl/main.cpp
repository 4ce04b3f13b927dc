// routectl: calls and administration from the shell.
#include <routing/proxy_client.h>
#include <routing/router.h>

#include "app/tls_flags.h"
#include "app/common_flags.h"
#include "app/control_loop.h"
#include "common/log.h"
#include "common/trace_context.h"
#include "rpc/codec.h"
#include "rpc/host_port.h"
#include "discovery/discovery.h"
#include "routing/backend_tls.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <algorithm>
#include <functional>
#include <iostream>
#include <stdexcept>

namespace {

using namespace routing;
using std::chrono::milliseconds;

// Prints a reply the way every subcommand does: payload on stdout and exit 0,
// or "STATUS: message" on stderr and exit 1.
int report(const Reply& reply) {
  if (!reply.ok()) {
    std::cerr << status_name(reply.status) << " (" << static_cast<int>(reply.status) << "): " << reply.payload << "\n";
    return 1;
  }
  std::cout << reply.payload << "\n";
  return 0;
}

template <typename T>
T run_sync(app::ControlLoop& loop, boost::asio::awaitable<T> work) {
  return boost::asio::co_spawn(loop.executor(), std::move(work), boost::asio::use_future).get();
}

struct Common {
  std::string proxy = "127.0.0.1:10300";  // one address or a comma-separated list
  std::string proxy_discovery;            // or the routerds registered as proxy_name there
  std::string proxy_name;
  std::string discovery;
  std::string token;
  long timeout_ms = 5000;
  TlsClientOptions tls;  // to routerd (--proxy), or to the backends (call --discovery)
};

ProxyClient make_proxy(const Common& c, std::optional<std::string> only = std::nullopt) {
  ProxyClientOptions options{.address = only.value_or(c.proxy), .auth_token = c.token,
                             .request_timeout = milliseconds(c.timeout_ms), .connections = 1};
  if (!only) {
    options.discovery = c.proxy_discovery;
    options.discovery_name = c.proxy_name;
  }
  options.tls = c.tls;
  return ProxyClient(options);
}

// Every routerd the flags name: the --proxy list, or those registered as
// --proxy-name in --proxy-discovery.
std::vector<std::string> every_routerd(const Common& c) {
  if (c.proxy_discovery.empty()) {
    std::string error;
    auto addresses = rpc::parse_address_list(c.proxy, error);  // checked by --proxy's validator already
    if (!addresses) throw std::runtime_error(error);
    return std::move(*addresses);
  }
  app::ControlLoop loop;
  // rpcs:// and etcds:// use the TLS flags, as ProxyClient's discovery does.
  auto discovery = discovery::make_discovery(c.proxy_discovery, loop.executor(), {.tls = core::BackendTls(c.tls).context()});
  auto listed = boost::asio::co_spawn(loop.executor(), discovery->list(c.proxy_name), boost::asio::use_future).get();
  if (!listed.ok()) throw std::runtime_error("finding routerds '" + c.proxy_name + "': " + listed.error);
  if (listed.value.addresses.empty()) throw std::runtime_error("no routerd registered as '" + c.proxy_name + "'");
  return listed.value.addresses;
}

// An administrative command sent to every routerd (their state is their
// own: a drain or a strategy must reach each): each answer on its own line,
// prefixed by the routerd's address when there are several; 1 if any failed.
int on_every_routerd(const Common& c, const std::function<Reply(ProxyClient&)>& command) {
  auto routerds = every_routerd(c);
  int code = 0;
  for (const auto& address : routerds) {
    auto proxy = make_proxy(c, address);
    Reply reply = command(proxy);
    if (routerds.size() > 1) (reply.ok() ? std::cout : std::cerr) << address << ": ";
    code = std::max(code, report(reply));
  }
  return code;
}

// CLI11 validator for --proxy: host:port, or several separated by commas.
CLI::Validator address_list_validator() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        std::string error;
        return rpc::parse_address_list(text, error) ? "" : error;
      },
      "HOST:PORT[,HOST:PORT...]");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App cli{"routectl: call systems through routerd or the embedded router, and administer them", "routectl"};
  cli.set_version_flag("--version", std::string("routectl ") + ROUTING_VERSION);
  cli.require_subcommand(1);
  Common c;
  auto add_proxy = [&](CLI::App* sub) {
    auto* proxy = sub->add_option("--proxy", c.proxy, "routerd address, or several separated by commas (calls go to "
                                                      "them in turn, and to the next when one cannot be reached)")
                      ->check(address_list_validator())
                      ->capture_default_str();
    auto* found = sub->add_option("--proxy-discovery", c.proxy_discovery,
                                  "find the routerds in this discovery instead (with --proxy-name)")
                      ->check(app::discovery_url_validator())
                      ->excludes(proxy);
    sub->add_option("--proxy-name", c.proxy_name, "the name the routerds registered as (routerd --register-as)")
        ->needs(found);
    found->needs(sub->get_option("--proxy-name"));
    sub->add_option("--token", c.token, "authenticate with this token (routerd --auth-token)")->envname("ROUTECTL_TOKEN");
    sub->add_option("--timeout-ms", c.timeout_ms, "deadline of the call")->check(CLI::Range(1L, 3'600'000L))->capture_default_str();
    app::add_client_tls_flags(*sub, c.tls, "--tls");
  };
  auto add_discovery = [&](CLI::App* sub, const char* help) {
    return sub->add_option("--discovery", c.discovery, help)->check(app::discovery_url_validator());
  };

  auto* call = cli.add_subcommand("call", "call SYSTEM PROCEDURE PAYLOAD; prints the backend's payload");
  std::string system, payload;
  long procedure = 0;
  bool idempotent = false;
  call->add_option("system", system, "system name")->required();
  call->add_option("procedure", procedure, "procedure id")->required()->check(CLI::Range(0L, 2147483647L));
  call->add_option("payload", payload, "payload")->required();
  add_proxy(call);
  auto* via_discovery = add_discovery(call, "route in-process (library mode) with this discovery instead of --proxy");
  call->add_flag("--idempotent", idempotent, "the call may be resent once if its backend fails mid-call");
  std::string traceparent, request_id;
  call->add_option("--traceparent", traceparent, "W3C trace context the call carries (tagged frames, CONTRACT §8)")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            return common::parse_traceparent(value) ? "" : "not a W3C traceparent (00-<32 hex>-<16 hex>-<2 hex>)";
          },
          "TRACEPARENT"));
  call->add_option("--request-id", request_id, "an id the call carries to routerd and the backend (their logs show it)")
      ->check(CLI::Validator(
          [](std::string& value) -> std::string {
            return rpc::is_valid_key_value(value) ? "" : "1 to 256 bytes of '!'..'~' without ';', ':' or '\\'";
          },
          "ID"));
  call->get_option("--proxy")->excludes(via_discovery);
  call->get_option("--proxy-discovery")->excludes(via_discovery);

  auto* reg = cli.add_subcommand("register", "register NAME ADDRESS once, with a lease");
  auto* dereg = cli.add_subcommand("deregister", "deregister NAME ADDRESS");
  auto* list = cli.add_subcommand("list", "list NAME: its live addresses");
  std::string name, address;
  long ttl_ms = 10000;
  for (auto* sub : {reg, dereg, list}) {
    sub->add_option("name", name, "system name")->required();
    add_discovery(sub, "discovery URL")->default_str("rpc://127.0.0.1:10200");
  }
  for (auto* sub : {reg, dereg}) sub->add_option("address", address, "host:port")->required()->check(app::host_port_validator());
  reg->add_option("--ttl-ms", ttl_ms, "lease time")->check(CLI::Range(1L, 604'800'000L))->capture_default_str();

  auto* status = cli.add_subcommand("status", "routerd's STATUS JSON");
  add_proxy(status);
  auto* strategy = cli.add_subcommand("set-strategy", "set-strategy STRATEGY [--system NAME]");
  std::string strategy_name, strategy_system;
  strategy->add_option("strategy", strategy_name, "round-robin, random, least-connections, pick-2 or peak-ewma")->required();
  strategy->add_option("--system", strategy_system, "only this system");
  add_proxy(strategy);
  auto* drain = cli.add_subcommand("drain", "drain SYSTEM ADDRESS: routerd sends the backend no new calls");
  auto* undrain = cli.add_subcommand("undrain", "undrain SYSTEM ADDRESS: the backend gets calls again");
  std::string drain_system, drain_address;
  for (auto* sub : {drain, undrain}) {
    sub->add_option("system", drain_system, "system name")->required();
    sub->add_option("address", drain_address, "the backend's host:port")->required()->check(app::host_port_validator());
    add_proxy(sub);
  }

  if (int code = app::parse_flags(cli, argc, argv); code >= 0) return code;
  common::log().set_level(spdlog::level::warn);  // stdout and stderr are the answer here
  if (c.discovery.empty()) c.discovery = "rpc://127.0.0.1:10200";

  try {
    CallOptions options{.timeout = milliseconds(c.timeout_ms), .idempotent = idempotent,
                        .traceparent = traceparent, .request_id = request_id};
    if (call->parsed()) {
      if (via_discovery->count() > 0) {
        RouterOptions router_options{.discovery = c.discovery, .health_check_interval = milliseconds(0)};
        router_options.tls = c.tls;
        Router router(router_options);
        return report(router.call(system, static_cast<std::uint32_t>(procedure), payload, options));
      }
      return report(make_proxy(c).call(system, static_cast<std::uint32_t>(procedure), payload, options));
    }
    if (status->parsed()) return report(make_proxy(c).status());
    if (drain->parsed()) {
      return on_every_routerd(c, [&](ProxyClient& proxy) { return proxy.drain(drain_system, drain_address); });
    }
    if (undrain->parsed()) {
      return on_every_routerd(c, [&](ProxyClient& proxy) { return proxy.undrain(drain_system, drain_address); });
    }
    if (strategy->parsed()) {
      return on_every_routerd(c, [&](ProxyClient& proxy) {
        return proxy.set_strategy(strategy_name,
                                  strategy_system.empty() ? std::nullopt : std::optional(strategy_system));
      });
    }
    app::ControlLoop loop;
    auto discovery = discovery::make_discovery(c.discovery, loop.executor());
    auto as_reply = [](const auto& result, std::string ok_text) {
      return result.ok() ? Reply::success(std::move(ok_text)) : Reply::error(result.status, result.error);
    };
    if (reg->parsed()) {
      auto result = run_sync(loop, discovery->announce(name, address, milliseconds(ttl_ms), {}));
      return report(as_reply(result, "registered " + address + " as '" + name + "' for " +
                                          std::to_string(result.value.count()) + " ms"));
    }
    if (dereg->parsed()) {
      return report(as_reply(run_sync(loop, discovery->withdraw(name, address)), "deregistered " + address));
    }
    auto result = run_sync(loop, discovery->list(name));
    std::string lines;
    for (const auto& each : result.value.addresses) {
      lines += (lines.empty() ? "" : "\n") + each;
      // The placement, when the instance registered one (CONTRACT §11).
      const auto& placement = result.value.placement_of(each);
      if (!placement.zone.empty()) lines += " zone=" + placement.zone;
      if (placement.weight != discovery::Placement::default_weight) lines += " weight=" + std::to_string(placement.weight);
    }
    if (result.ok() && lines.empty()) {
      std::cerr << "no live instance of '" << name << "'\n";
      return 0;
    }
    return report(as_reply(result, lines));
  } catch (const std::exception& e) {
    std::cerr << "routectl: " << e.what() << "\n";
    return 2;
  }
}
