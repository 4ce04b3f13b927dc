#include "rpc/drained_read.h"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>

#include <sys/epoll.h>

namespace routing::rpc::drained_read_detail {

ad::reactor& reactor_of(asio::ip::tcp::socket& socket) {
  return asio::use_service<ad::reactor>(asio::query(socket.get_executor(), asio::execution::context));
}

#if ROUTING_ASIO_INTERNALS

void watch_peer_close(ad::reactor& reactor, int descriptor, ad::reactor::per_descriptor_data socket_record) {
  if (socket_record == nullptr) return;
  std::uint32_t registered = asio_internals::registered_events(socket_record);
  if (registered == 0 || (registered & EPOLLRDHUP) != 0) return;  // not in epoll, or done already
  // If epoll refuses, nothing changes: short reads then never count as
  // exhausted (peer_close_reported), which is Asio's own behaviour.
  asio_internals::add_registered_events(reactor, descriptor, socket_record, EPOLLRDHUP);
}

bool peer_close_reported(ad::reactor::per_descriptor_data socket_record) {
  if ((asio_internals::registered_events(socket_record) & EPOLLRDHUP) == 0) return true;  // not watched: assume so
  return (asio_internals::last_reported_events(socket_record) & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
}

#endif

}  // namespace routing::rpc::drained_read_detail
