#include "rpc/drained_read.h"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/query.hpp>

#include <sys/epoll.h>

namespace routing::rpc::drained_read_detail {

ad::reactor& reactor_of(asio::ip::tcp::socket& socket) {
  return asio::use_service<ad::reactor>(asio::query(socket.get_executor(), asio::execution::context));
}

#if ROUTING_DRAINED_READS
namespace {

// Asio keeps the epoll descriptor, the events a socket is registered for and
// the last events reported for it private. An explicit instantiation may
// name private members ([temp.spec.general]), which is how these accessors
// get pointers to them; the version check in the header keeps this to the
// Asio whose layout was checked.
template <class Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member(Tag) { return Member; }
};

struct EpollDescriptor {
  using type = int ad::epoll_reactor::*;
  friend type member(EpollDescriptor);
};
struct RegisteredEvents {
  using type = std::uint32_t ad::epoll_reactor::descriptor_state::*;
  friend type member(RegisteredEvents);
};
struct LastReportedEvents {  // epoll's last report, kept in the state's operation base
  using type = unsigned int ad::scheduler_operation::*;
  friend type member(LastReportedEvents);
};

template struct Expose<EpollDescriptor, &ad::epoll_reactor::epoll_fd_>;
template struct Expose<RegisteredEvents, &ad::epoll_reactor::descriptor_state::registered_events_>;
template struct Expose<LastReportedEvents, &ad::scheduler_operation::task_result_>;

// descriptor_state derives privately from its operation base; a C-style cast
// is the one conversion that may name a private base.
const ad::scheduler_operation& operation_base(const ad::epoll_reactor::descriptor_state& state) {
  return *(const ad::scheduler_operation*)&state;  // NOLINT(google-readability-casting)
}

}  // namespace

void watch_peer_close(ad::reactor& reactor, int descriptor, ad::reactor::per_descriptor_data state) {
  if (state == nullptr) return;
  std::uint32_t& registered = state->*member(RegisteredEvents{});
  if (registered == 0 || (registered & EPOLLRDHUP) != 0) return;  // not in epoll, or done already
  epoll_event event{};
  event.events = registered | EPOLLRDHUP;
  event.data.ptr = state;
  // Asio widens the registration itself only from what it recorded, so the
  // record must carry RDHUP too. If the change fails, nothing changes: short
  // reads then never count as exhausted (below), which is Asio's behaviour.
  if (::epoll_ctl(reactor.*member(EpollDescriptor{}), EPOLL_CTL_MOD, descriptor, &event) == 0) {
    registered = event.events;
  }
}

bool peer_close_reported(ad::reactor::per_descriptor_data state) {
  if ((state->*member(RegisteredEvents{}) & EPOLLRDHUP) == 0) return true;  // not watched: assume so
  return (operation_base(*state).*member(LastReportedEvents{}) & (EPOLLRDHUP | EPOLLHUP | EPOLLERR)) != 0;
}

#endif

}  // namespace routing::rpc::drained_read_detail
