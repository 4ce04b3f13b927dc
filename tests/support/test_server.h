#pragma once
// An in-process server with the echo procedures, plus two test procedures:
// 40 throws, 41 answers status 7 with the payload.
#include "echo/echo_service.h"
#include "rpc/server.h"

#include <memory>

namespace routing::test {

inline constexpr std::uint32_t throwing_procedure = 40;
inline constexpr std::uint32_t denied_procedure = 41;

inline std::unique_ptr<rpc::Server> start_test_server(rpc::ServerOptions options = {}) {
  auto server = std::make_unique<rpc::Server>(std::move(options));
  echo::register_echo_service(*server);
  server->handle(throwing_procedure,
                 [](std::string, rpc::ConnectionContext&) -> boost::asio::awaitable<Reply> {
                   throw std::runtime_error("handler bug");
                   co_return Reply{};
                 });
  server->handle(denied_procedure,
                 [](std::string payload, rpc::ConnectionContext&) -> boost::asio::awaitable<Reply> {
                   co_return Reply::error(Status::permission_denied, std::move(payload));
                 });
  server->start();
  return server;
}

}  // namespace routing::test
