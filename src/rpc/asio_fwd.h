#pragma once
// Asio aliases shared by the rpc code.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/detail/concurrency_hint.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace routing::rpc {
namespace asio = boost::asio;
using boost::system::error_code;

// Completion token for coroutines that treat errors as values, not exceptions.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

// The concurrency hint of our worker loops (servers' and routers'): one
// thread runs each, and every socket is used only on its loop's thread
// (other threads post to the loop). The reactor's per-socket locks then guard
// nothing, so they are skipped; the loop's queue stays locked, since other
// threads post to it. Measured: two mutex lock/unlock pairs per socket read.
inline const int single_thread_loop = BOOST_ASIO_CONCURRENCY_HINT_UNSAFE_IO;

}  // namespace routing::rpc
