#pragma once
// An in-process server with the echo procedures, plus test procedures:
// 40 throws, 41 answers status 7 with the payload (coroutines); callbacks:
// 42 answers from a later turn of the loop, 43 drops its Responder
// unanswered, 44 throws before answering; 45 answers what its call carried
// (CONTRACT §8 keys): "deadline-ms=<left or none> traceparent=<..> request-id=<..>".
// register_give_up_counter adds 50: waits until its caller gives it up (or
// 10 s) and counts those given up.
#include "echo/echo_service.h"
#include "rpc/server.h"

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/this_coro.hpp>

#include <atomic>

#include <memory>
#include <chrono>
#include <string>

namespace routing::test {

inline constexpr std::uint32_t throwing_procedure = 40;
inline constexpr std::uint32_t denied_procedure = 41;
inline constexpr std::uint32_t later_procedure = 42;
inline constexpr std::uint32_t dropping_procedure = 43;
inline constexpr std::uint32_t throwing_callback_procedure = 44;
inline constexpr std::uint32_t call_keys_procedure = 45;

inline constexpr std::uint32_t waits_for_give_up = 50;

// Before server.start(); `given_up` must outlive the server.
inline void register_give_up_counter(rpc::Server& server, std::atomic<int>& given_up) {
  server.handle(waits_for_give_up, [&given_up](std::string, rpc::CallContext& call) -> boost::asio::awaitable<Reply> {
    boost::asio::steady_timer timer(co_await boost::asio::this_coro::executor, std::chrono::seconds(10));
    call.on_abandoned = [&timer] { timer.cancel(); };
    co_await timer.async_wait(rpc::use_nothrow);
    call.on_abandoned = nullptr;
    if (!call.wanted()) given_up.fetch_add(1);
    co_return Reply::success("finished");
  });
}

inline std::string describe_call_keys(const rpc::CallContext& call) {
  std::string deadline = "none";
  if (call.deadline != rpc::CallContext::Clock::time_point::max()) {
    auto left = std::chrono::ceil<std::chrono::milliseconds>(call.deadline - rpc::CallContext::Clock::now());
    deadline = std::to_string(left.count());
  }
  return "deadline-ms=" + deadline + " traceparent=" + call.traceparent + " request-id=" + call.request_id;
}

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
  server->handle_callback(call_keys_procedure, [](std::string&, rpc::CallContext& call, rpc::Responder responder) {
    responder.answer(Status::ok, describe_call_keys(call));
  });
  server->start();
  return server;
}

}  // namespace routing::test
