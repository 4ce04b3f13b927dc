#pragma once
// An in-process server with the echo procedures, plus test procedures:
// 40 throws, 41 answers status 7 with the payload (coroutines); callbacks:
// 42 answers from a later turn of the loop, 43 drops its Responder
// unanswered, 44 throws before answering.
#include "echo/echo_service.h"
#include "rpc/server.h"

#include <boost/asio/post.hpp>

#include <memory>

namespace routing::test {

inline constexpr std::uint32_t throwing_procedure = 40;
inline constexpr std::uint32_t denied_procedure = 41;
inline constexpr std::uint32_t later_procedure = 42;
inline constexpr std::uint32_t dropping_procedure = 43;
inline constexpr std::uint32_t throwing_callback_procedure = 44;

inline std::unique_ptr<rpc::Server> start_test_server(rpc::ServerOptions options = {}) {
  auto server = std::make_unique<rpc::Server>(std::move(options));
  echo::register_echo_service(*server);
  server->handle(throwing_procedure,
                 [](std::string, rpc::CallContext&) -> boost::asio::awaitable<Reply> {
                   throw std::runtime_error("handler bug");
                   co_return Reply{};
                 });
  server->handle(denied_procedure,
                 [](std::string payload, rpc::CallContext&) -> boost::asio::awaitable<Reply> {
                   co_return Reply::error(Status::permission_denied, std::move(payload));
                 });
  server->handle_callback(later_procedure, [](std::string& payload, rpc::CallContext& call,
                                               rpc::Responder responder) {
    boost::asio::post(call.connection.executor, [payload = std::move(payload), responder = std::move(responder)]() mutable {
      responder.answer(Status::ok, "later " + payload);
    });
  });
  server->handle_callback(dropping_procedure, [](std::string&, rpc::CallContext&, rpc::Responder) {});
  server->handle_callback(throwing_callback_procedure, [](std::string&, rpc::CallContext&, rpc::Responder) {
    throw std::runtime_error("callback handler bug");
  });
  server->start();
  return server;
}

}  // namespace routing::test
