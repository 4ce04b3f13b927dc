#pragma once
// The one place that reaches into Asio's private members.
//
// Two loop speed-ups need state that Asio keeps private: DrainedReader
// (rpc/drained_read.h) needs the epoll reactor's record of a socket, and
// BatchedWrites (rpc/batched_writes.h) needs to see what the scheduler's
// ready queue holds. An explicit template instantiation may name private
// members ([temp.spec.general]); asio_internals.cpp uses that, and nothing
// else does. Private layouts change without notice between Asio releases, so
// ROUTING_ASIO_INTERNALS is 1 only for the Asio they were checked against
// (1.26, from Boost 1.81, with the epoll reactor). Elsewhere none of it is
// compiled and both fall back to Asio's own behaviour. Moving to another
// Asio: check the fields named in asio_internals.cpp, run
// asio_internals_test, drained_read_test and batched_writes_test with the
// gate widened, and widen it only if they pass.
#include "rpc/asio_fwd.h"

#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/version.hpp>

#include <cstdint>

#if BOOST_ASIO_VERSION == 102600 && defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define ROUTING_ASIO_INTERNALS 1
#else
#define ROUTING_ASIO_INTERNALS 0
#endif

namespace boost::asio::detail {
class scheduler;
}

namespace routing::rpc::asio_internals {

namespace ad = boost::asio::detail;

// Whether this Asio's internals are reached (ROUTING_ASIO_INTERNALS).
inline constexpr bool available = ROUTING_ASIO_INTERNALS;

// Whether the scheduler's queue holds a ready handler besides the marker of
// its next epoll wait. Called from a handler of a loop that one thread runs,
// that means more work is ready in this turn. True when it cannot tell (the
// internals are not available).
bool more_ready_handlers(ad::scheduler& scheduler);

#if ROUTING_ASIO_INTERNALS

// A TCP socket's implementation: its descriptor (socket_), its state flags
// (state_) and the reactor's record of it (reactor_data_). Protected in
// basic_socket, so a derived class names it.
struct SocketAccess : asio::ip::tcp::socket {
  static auto& implementation(asio::ip::tcp::socket& socket) {
    return (socket.*(&SocketAccess::impl_)).get_implementation();
  }
};
inline auto& socket_implementation(asio::ip::tcp::socket& socket) { return SocketAccess::implementation(socket); }

// The epoll events the reactor registered the socket for (0: not in epoll).
std::uint32_t registered_events(ad::reactor::per_descriptor_data socket_record);
// The events epoll reported for the socket in its last report.
std::uint32_t last_reported_events(ad::reactor::per_descriptor_data socket_record);
// Adds `events` to the socket's epoll registration and to the reactor's
// record of it (Asio re-registers only from what it recorded). False, with
// nothing changed, if epoll refused.
bool add_registered_events(ad::reactor& reactor, int descriptor, ad::reactor::per_descriptor_data socket_record,
                           std::uint32_t events);

#endif  // ROUTING_ASIO_INTERNALS

}  // namespace routing::rpc::asio_internals
