// routerd's DRAIN (5) and UNDRAIN (6) (CONTRACT §11): maintenance of one
// backend. {"name":"echo","address":"127.0.0.1:7001"} answers
// {"name":"echo","address":"127.0.0.1:7001","drained":true,"listed":true};
// "listed": false says this routerd does not have that address among the
// system's backends now (or has not routed to the system yet); the drain
// is kept for when it does. Admin procedures: under a policy only an
// identity with admin = true may call them.
#include "common/json_args.h"
#include "discovery/protocol.h"
#include "proxy/route_args.h"
#include "proxy/routerd_service.h"
#include "rpc/host_port.h"

#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

namespace routing::proxy {
namespace asio = boost::asio;

asio::awaitable<Reply> RouterdService::drain(std::string payload, rpc::CallContext& call) {
  co_return set_drained(payload, call, true);
}

asio::awaitable<Reply> RouterdService::undrain(std::string payload, rpc::CallContext& call) {
  co_return set_drained(payload, call, false);
}

Reply RouterdService::set_drained(std::string_view payload, rpc::CallContext& call, bool drained) {
  const char* procedure = drained ? "DRAIN" : "UNDRAIN";
  if (auto refusal = refuse_unauthenticated(call)) return router_error(refusal->status, refusal->payload);
  if (auto denied = policy_.refuse_admin(call.connection, procedure)) {
    return router_error(Status::permission_denied, *denied);
  }
  if (auto refusal = refuse_before_start()) return router_error(refusal->status, refusal->payload);
  common::JsonArgs args(payload);
  std::string name = args.required_string("name");
  std::string address = args.required_string("address");
  if (args.ok() && name.empty()) args.fail("field \"name\" must not be empty");
  if (args.ok() && name.size() > discovery::max_name_bytes) {
    args.fail("field \"name\" is longer than " + std::to_string(discovery::max_name_bytes) + " bytes");
  }
  if (args.ok()) {
    auto parsed = rpc::parse_host_port(address);
    if (!parsed || parsed->port == 0) args.fail("field \"address\" must be host:port with a port in 1..65535");
  }
  if (!args.ok()) return router_error(Status::invalid_argument, args.error());
  auto result = core_.load()->set_drained(name, address, drained);
  if (!result) {
    return router_error(Status::resource_exhausted, "routerd knows too many systems to start following '" + name +
                                                        "' (--max-systems)");
  }
  if (*result == core::System::DrainResult::too_many) {
    return router_error(Status::resource_exhausted, "system '" + name + "' has " +
                                                        std::to_string(core::System::max_drained) +
                                                        " drained addresses already; undrain some first");
  }
  return Reply::success(boost::json::serialize(boost::json::object{
      {"name", name},
      {"address", address},
      {"drained", drained},
      {"listed", *result == core::System::DrainResult::listed}}));
}

}  // namespace routing::proxy
