// hello_router: library mode in a dozen lines. Routes a few calls to a
// system, blocking and as a coroutine, and prints the replies.
//   hello_router DISCOVERY_URL [SYSTEM]
//   hello_router static://echo=127.0.0.1:7001
#include <routing/router.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

#include <iostream>

int main(int argc, char** argv) {
  if (argc < 2) {
    std::cerr << "usage: hello_router DISCOVERY_URL [SYSTEM]\n";
    return 2;
  }
  std::string system = argc > 2 ? argv[2] : "echo";
  routing::Router router(routing::RouterOptions{.discovery = argv[1]});

  // Blocking: ECHO (procedure 1).
  routing::Reply reply = router.call(system, 1, "hello from the library");
  if (!reply.ok()) {
    std::cerr << routing::status_name(reply.status) << ": " << reply.payload << "\n";
    return 1;
  }
  std::cout << "call:       " << reply.payload << "\n";

  // The same as a coroutine on your own event loop: WHOAMI (procedure 3).
  boost::asio::io_context ctx;
  auto answer = boost::asio::co_spawn(
      ctx, [&]() -> boost::asio::awaitable<routing::Reply> { co_return co_await router.async_call(system, 3, ""); },
      boost::asio::use_future);
  ctx.run();
  routing::Reply whoami = answer.get();
  std::cout << "async_call: served by " << whoami.payload << "\n";
  return whoami.ok() ? 0 : 1;
}
