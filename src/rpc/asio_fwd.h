#pragma once
// Asio aliases shared by the rpc code.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/use_awaitable.hpp>

namespace routing::rpc {
namespace asio = boost::asio;
using boost::system::error_code;

// Completion token for coroutines that treat errors as values, not exceptions.
inline constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

}  // namespace routing::rpc
