#pragma once
// A socket read that tells Asio's reactor when it emptied the socket, so the
// next read waits for epoll instead of first trying a recv bound to find
// nothing (why: docs/performance.md, item 16).
//
// A read here reports a short read (fewer bytes than the space offered) as
// "done and exhausted": a stream socket's recv returns less than asked only
// when the receive queue ran dry or it met the peer's FIN, and the kernel
// signals every byte that arrives after that with a new epoll event. The
// reactor then skips the try at the next start and waits for epoll (it flags
// a socket reported readable even while no read is pending, so an event
// between two reads is never lost: the next start tries at once).
//
// The FIN is the catch: recv consumes it together with the bytes before it,
// and if epoll already reported its arrival, no later event will; skipping
// the next try would then never see the end of file (a client that sends and
// half-closes would wait forever). So the socket is also watched for
// EPOLLRDHUP, and a short read counts as exhausted only while the last event
// epoll reported for the socket carries no RDHUP, HUP or ERR: any FIN that
// arrived before that report shows in it, and one that arrives after it
// brings a new report. (HAProxy's raw socket reads use the same rule.)
//
// A read that fills the space offered keeps the try, as Asio's own; the rest
// is as with socket.async_read_some (rpc/drained_read_op.h). The reactor's
// record of the socket is reached through rpc/asio_internals.h, so this works
// only with the Asio that was checked (ROUTING_ASIO_INTERNALS); with any
// other, reads are socket.async_read_some.
// tests/unit/drained_read_test.cpp checks the behaviour relied on.
#include "rpc/asio_internals.h"
#include "rpc/drained_read_op.h"

#include <boost/asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>

namespace routing::rpc {

// Reads one socket, one read at a time, on the socket's loop thread.
// The socket must outlive the reader (declare the reader after it).
class DrainedReader {
 public:
  explicit DrainedReader(asio::ip::tcp::socket& socket)
      : socket_(socket), reactor_(drained_read_detail::reactor_of(socket)) {}
  DrainedReader(const DrainedReader&) = delete;
  DrainedReader& operator=(const DrainedReader&) = delete;

  // As socket.async_read_some(space, handler): handler(error_code, bytes).
  template <class Handler>
  void async_read_some(asio::mutable_buffer space, Handler&& handler);

  // recv calls made so far, including those that found nothing.
  std::uint64_t attempts() const noexcept { return attempts_; }

  // Whether reads skip the recv bound to find nothing (false: Asio's reads).
  static constexpr bool skips_empty_tries = asio_internals::available;

 private:
  asio::ip::tcp::socket& socket_;
  boost::asio::detail::reactor& reactor_;
  std::uint64_t attempts_ = 0;
};

template <class Handler>
void DrainedReader::async_read_some(asio::mutable_buffer space, Handler&& handler_in) {
#if ROUTING_ASIO_INTERNALS
  namespace ad = boost::asio::detail;
  using Executor = asio::ip::tcp::socket::executor_type;
  using Op = drained_read_detail::ReadOp<std::decay_t<Handler>, Executor>;
  std::decay_t<Handler> handler(std::forward<Handler>(handler_in));
  auto& impl = asio_internals::socket_implementation(socket_);
  const bool is_continuation = boost_asio_handler_cont_helpers::is_continuation(handler);
  auto slot = asio::get_associated_cancellation_slot(handler);

  typename Op::ptr p = {std::addressof(handler), Op::ptr::allocate(handler), nullptr};
  p.p = new (p.v) Op(impl.socket_, impl.reactor_data_, space, &attempts_, handler, socket_.get_executor());
  if (slot.is_connected()) {
    p.p->cancellation_key_ =
        &slot.template emplace<drained_read_detail::Cancellation>(&reactor_, &impl.reactor_data_, impl.socket_);
  }
  if (space.size() == 0 ||
      (!(impl.state_ & ad::socket_ops::non_blocking) &&
       !ad::socket_ops::set_internal_non_blocking(impl.socket_, impl.state_, true, p.p->ec_))) {
    reactor_.post_immediate_completion(p.p, is_continuation);  // nothing to read into, or an error
  } else {
    drained_read_detail::watch_peer_close(reactor_, impl.socket_, impl.reactor_data_);
    reactor_.start_op(ad::reactor::read_op, impl.socket_, impl.reactor_data_, p.p, is_continuation,
                      /*allow_speculative=*/true);
  }
  p.v = p.p = nullptr;
#else
  ++attempts_;  // not counted exactly: Asio's read tries at every start
  socket_.async_read_some(space, std::forward<Handler>(handler_in));
#endif
}

}  // namespace routing::rpc
