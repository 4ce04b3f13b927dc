#pragma once
// A socket read that tells Asio's reactor when it emptied the socket.
//
// Asio (1.26) tries the system call at once whenever a read starts, and
// waits for epoll only if that finds nothing. Its reactor remembers "no need
// to try" only after end of file, so every read started after the socket was
// emptied costs a recv that finds nothing: one per call on a connection that
// carries one request at a time (about 1.3 µs of system time on our VMs).
// HAProxy pays the same one.
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
// A read that fills the space offered keeps the try, as Asio's own.
// Everything else (the handler's allocator and cancellation slot, completion
// through the handler's executor, what happens when the loop is destroyed
// first) is as with socket.async_read_some, whose operation this mirrors
// (boost/asio/detail/reactive_socket_recv_op.hpp). It leans on Asio's reactor
// internals, so it is used only with the Asio it was checked against (1.26,
// epoll); with any other, reads are socket.async_read_some.
// tests/unit/drained_read_test.cpp checks the behaviour relied on.
#include "rpc/asio_fwd.h"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/version.hpp>

#include <cstdint>
#include <memory>

#if BOOST_ASIO_VERSION == 102600 && defined(BOOST_ASIO_HAS_EPOLL) && !defined(BOOST_ASIO_HAS_IO_URING_AS_DEFAULT)
#define ROUTING_DRAINED_READS 1
#else
#define ROUTING_DRAINED_READS 0
#endif

namespace routing::rpc {

namespace drained_read_detail {

namespace ad = boost::asio::detail;

// The reactor of the socket's execution context (looked up once per reader).
ad::reactor& reactor_of(asio::ip::tcp::socket& socket);

#if ROUTING_DRAINED_READS
// Adds EPOLLRDHUP to what epoll watches for the socket, once.
void watch_peer_close(ad::reactor& reactor, int descriptor, ad::reactor::per_descriptor_data state);
// Whether the last event epoll reported for the socket may mean a FIN.
bool peer_close_reported(ad::reactor::per_descriptor_data state);

// What the operation needs of the socket: its descriptor and the reactor's
// record of it (Asio keeps them in the socket's protected implementation).
struct SocketAccess : asio::ip::tcp::socket {
  static auto& implementation(asio::ip::tcp::socket& socket) {
    return (socket.*(&SocketAccess::impl_)).get_implementation();
  }
};

// Cancels the pending read when the handler's cancellation slot fires.
class Cancellation {
 public:
  Cancellation(ad::reactor* reactor, ad::reactor::per_descriptor_data* data, int descriptor)
      : reactor_(reactor), data_(data), descriptor_(descriptor) {}
  void operator()(asio::cancellation_type_t type) {
    using asio::cancellation_type;
    if (!!(type & (cancellation_type::terminal | cancellation_type::partial | cancellation_type::total))) {
      reactor_->cancel_ops_by_key(descriptor_, *data_, ad::reactor::read_op, this);
    }
  }

 private:
  ad::reactor* reactor_;
  ad::reactor::per_descriptor_data* data_;
  int descriptor_;
};

template <class Handler, class IoExecutor>
class ReadOp : public ad::reactor_op {
 public:
  BOOST_ASIO_DEFINE_HANDLER_PTR(ReadOp);

  ReadOp(int descriptor, ad::reactor::per_descriptor_data state, asio::mutable_buffer space,
         std::uint64_t* attempts, Handler& handler, const IoExecutor& executor)
      : ad::reactor_op(error_code(), &ReadOp::do_perform, &ReadOp::do_complete),
        descriptor_(descriptor),
        state_(state),
        space_(space),
        attempts_(attempts),
        handler_(std::move(handler)),
        work_(handler_, executor) {}

  static status do_perform(ad::reactor_op* base) {
    auto* op = static_cast<ReadOp*>(base);
    ++*op->attempts_;
    if (!ad::socket_ops::non_blocking_recv1(op->descriptor_, op->space_.data(), op->space_.size(), 0,
                                            /*is_stream=*/true, op->ec_, op->bytes_transferred_)) {
      return not_done;  // nothing there: wait for epoll
    }
    if (op->ec_) return done_and_exhausted;  // end of file or an error: nothing more to read
    if (op->bytes_transferred_ == op->space_.size()) return done;  // there may be more: try at the next start
    // A short read: the queue ran dry, unless recv stopped at a FIN that
    // epoll may already have reported (then try again, to see the end of file).
    return peer_close_reported(op->state_) ? done : done_and_exhausted;
  }

  static void do_complete(void* owner, ad::operation* base, const error_code&, std::size_t) {
    auto* op = static_cast<ReadOp*>(base);
    ptr p = {std::addressof(op->handler_), op, op};
    ad::handler_work<Handler, IoExecutor> work(std::move(op->work_));
    // The memory goes back before the call, from a copy of the handler
    // (which may own that memory), as Asio's own operations do.
    ad::binder2<Handler, error_code, std::size_t> call(op->handler_, op->ec_, op->bytes_transferred_);
    p.h = std::addressof(call.handler_);
    p.reset();
    if (owner) {  // null: the loop is being destroyed; the handler is dropped unrun
      ad::fenced_block fence(ad::fenced_block::half);
      work.complete(call, call.handler_);
    }
  }

 private:
  int descriptor_;
  ad::reactor::per_descriptor_data state_;
  asio::mutable_buffer space_;
  std::uint64_t* attempts_;
  Handler handler_;
  ad::handler_work<Handler, IoExecutor> work_;
};

#endif  // ROUTING_DRAINED_READS

}  // namespace drained_read_detail

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
  static constexpr bool skips_empty_tries = ROUTING_DRAINED_READS;

 private:
  asio::ip::tcp::socket& socket_;
  boost::asio::detail::reactor& reactor_;
  std::uint64_t attempts_ = 0;
};

template <class Handler>
void DrainedReader::async_read_some(asio::mutable_buffer space, Handler&& handler_in) {
#if ROUTING_DRAINED_READS
  namespace ad = boost::asio::detail;
  using Executor = asio::ip::tcp::socket::executor_type;
  using Op = drained_read_detail::ReadOp<std::decay_t<Handler>, Executor>;
  std::decay_t<Handler> handler(std::forward<Handler>(handler_in));
  auto& impl = drained_read_detail::SocketAccess::implementation(socket_);
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
