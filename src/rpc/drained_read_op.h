#pragma once
// DrainedReader's read operation: Asio's socket read operation
// (boost/asio/detail/reactive_socket_recv_op.hpp) with one change, in
// do_perform: a short read reports "done and exhausted" unless epoll may
// already have reported the peer's FIN (drained_read.h says why). Everything
// else (allocation through the handler's allocator, completion through the
// handler's associated executor, cancellation, a loop destroyed first) is as
// in Asio's own. Compiled only where rpc/asio_internals.h reaches the
// reactor's record (ROUTING_ASIO_INTERNALS).
#include "rpc/asio_internals.h"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/detail/bind_handler.hpp>
#include <boost/asio/detail/fenced_block.hpp>
#include <boost/asio/detail/handler_alloc_helpers.hpp>
#include <boost/asio/detail/handler_cont_helpers.hpp>
#include <boost/asio/detail/handler_work.hpp>
#include <boost/asio/detail/reactor_op.hpp>
#include <boost/asio/detail/socket_ops.hpp>

#include <cstdint>
#include <memory>

namespace routing::rpc::drained_read_detail {

namespace ad = boost::asio::detail;

// The reactor of the socket's execution context (looked up once per reader).
ad::reactor& reactor_of(asio::ip::tcp::socket& socket);

#if ROUTING_ASIO_INTERNALS

// Adds EPOLLRDHUP to what epoll watches for the socket, once.
void watch_peer_close(ad::reactor& reactor, int descriptor, ad::reactor::per_descriptor_data socket_record);
// Whether the last event epoll reported for the socket may mean a FIN.
bool peer_close_reported(ad::reactor::per_descriptor_data socket_record);

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

#endif  // ROUTING_ASIO_INTERNALS

}  // namespace routing::rpc::drained_read_detail
