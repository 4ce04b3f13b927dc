// asio_app: its own Asio work (a socket read to end of stream, a timer) and
// routing::Router calls on the same io_context. Fails if the package
// imposes Asio's separate compilation, or if the program ends up with two
// copies of Asio's statics (the application's and the library's): then
// `ec == asio::error::eof` is false for an end of stream.
//   asio_app HOST:PORT   (an echod)
#include <routing/router.h>

#include <boost/asio.hpp>

#include <iostream>

#if defined(BOOST_ASIO_SEPARATE_COMPILATION) || defined(BOOST_BEAST_SEPARATE_COMPILATION)
#error "the routing package must not impose Asio's or Beast's separate compilation"
#endif

namespace asio = boost::asio;
using asio::ip::tcp;

// Connects to a listener of our own that closes at once, reads to the end.
asio::awaitable<bool> sees_end_of_stream() {
  auto executor = co_await asio::this_coro::executor;
  tcp::acceptor acceptor(executor, tcp::endpoint(asio::ip::make_address("127.0.0.1"), 0));
  tcp::socket client(executor);
  co_await client.async_connect(acceptor.local_endpoint(), asio::use_awaitable);
  tcp::socket server = co_await acceptor.async_accept(asio::use_awaitable);
  server.close();
  char byte;
  auto [ec, n] = co_await client.async_read_some(asio::buffer(&byte, 1), asio::as_tuple(asio::use_awaitable));
  std::cout << "read: " << ec.message() << " (" << ec.category().name() << ")\n";
  co_return ec == asio::error::eof && &ec.category() == &asio::error::get_misc_category();
}

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: asio_app HOST:PORT\n";
    return 2;
  }
  routing::Router router(routing::RouterOptions{.discovery = std::string("static://echo=") + argv[1]});
  asio::io_context ctx;
  bool eof_ok = false;
  routing::Reply reply;
  asio::co_spawn(ctx, [&]() -> asio::awaitable<void> {
    eof_ok = co_await sees_end_of_stream();
    asio::steady_timer timer(ctx, std::chrono::milliseconds(1));
    co_await timer.async_wait(asio::use_awaitable);
    reply = co_await router.async_call("echo", 1, "asio and routing");
  }, asio::detached);
  ctx.run();
  std::cout << "end of stream recognised: " << (eof_ok ? "yes" : "no") << "\n";
  std::cout << "router: " << reply.payload << "\n";
  return eof_ok && reply.ok() && reply.payload == "asio and routing" ? 0 : 1;
}
