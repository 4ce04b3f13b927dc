#include "rpc/asio_internals.h"

#include <boost/asio/detail/scheduler.hpp>

#include <sys/epoll.h>

namespace routing::rpc::asio_internals {

#if ROUTING_ASIO_INTERNALS
namespace {

// An explicit instantiation may name private members ([temp.spec.general]):
// Expose<Tag, &Class::member_> defines member(Tag), which returns that
// pointer to member. Each Tag below names one private field of this Asio.
template <class Tag, typename Tag::type Member>
struct Expose {
  friend typename Tag::type member(Tag) { return Member; }
};

// The epoll reactor: its epoll descriptor, and per socket the events it is
// registered for.
struct EpollDescriptor {
  using type = int ad::epoll_reactor::*;
  friend type member(EpollDescriptor);
};
struct RegisteredEvents {
  using type = std::uint32_t ad::epoll_reactor::descriptor_state::*;
  friend type member(RegisteredEvents);
};
// Epoll's last report for a socket, kept in its record's operation base.
struct LastReportedEvents {
  using type = unsigned int ad::scheduler_operation::*;
  friend type member(LastReportedEvents);
};
// The scheduler: its queue of ready operations, the lock over it, and each
// operation's function (null only in the marker of the epoll wait).
struct ReadyQueue {
  using type = ad::op_queue<ad::scheduler_operation> ad::scheduler::*;
  friend type member(ReadyQueue);
};
struct QueueLock {
  using type = ad::conditionally_enabled_mutex ad::scheduler::*;
  friend type member(QueueLock);
};
struct OperationFunction {
  using type = void (*ad::scheduler_operation::*)(void*, ad::scheduler_operation*, const boost::system::error_code&,
                                                  std::size_t);
  friend type member(OperationFunction);
};

template struct Expose<EpollDescriptor, &ad::epoll_reactor::epoll_fd_>;
template struct Expose<RegisteredEvents, &ad::epoll_reactor::descriptor_state::registered_events_>;
template struct Expose<LastReportedEvents, &ad::scheduler_operation::task_result_>;
template struct Expose<ReadyQueue, &ad::scheduler::op_queue_>;
template struct Expose<QueueLock, &ad::scheduler::mutex_>;
template struct Expose<OperationFunction, &ad::scheduler_operation::func_>;

// descriptor_state derives privately from its operation base; a C-style cast
// is the one conversion that may name a private base.
const ad::scheduler_operation& operation_base(const ad::epoll_reactor::descriptor_state& record) {
  return *(const ad::scheduler_operation*)&record;  // NOLINT(google-readability-casting)
}

bool is_handler(ad::scheduler_operation* op) { return op->*member(OperationFunction{}) != nullptr; }

}  // namespace

std::uint32_t registered_events(ad::reactor::per_descriptor_data socket_record) {
  return socket_record->*member(RegisteredEvents{});
}

std::uint32_t last_reported_events(ad::reactor::per_descriptor_data socket_record) {
  return operation_base(*socket_record).*member(LastReportedEvents{});
}

bool add_registered_events(ad::reactor& reactor, int descriptor, ad::reactor::per_descriptor_data socket_record,
                           std::uint32_t events) {
  std::uint32_t& registered = socket_record->*member(RegisteredEvents{});
  epoll_event event{};
  event.events = registered | events;
  event.data.ptr = socket_record;
  if (::epoll_ctl(reactor.*member(EpollDescriptor{}), EPOLL_CTL_MOD, descriptor, &event) != 0) return false;
  registered = event.events;
  return true;
}

// While a handler runs on a one-thread loop, the queue holds the handlers
// still ready in this turn, then the marker of the next epoll wait, then what
// was posted since. Handlers posted by the running one wait in a per-thread
// queue until it returns, and run after that epoll wait anyway.
bool more_ready_handlers(ad::scheduler& scheduler) {
  auto& queue = scheduler.*member(ReadyQueue{});
  // The front without the lock: while the marker is queued (always, while a
  // handler of a loop with a reactor runs), other threads only append behind
  // it, and only this thread removes from the front.
  ad::scheduler_operation* front = ad::op_queue_access::front(queue);
  if (front != nullptr && is_handler(front)) return true;
  // Behind the marker other threads may be appending: look under the lock.
  ad::conditionally_enabled_mutex::scoped_lock lock(scheduler.*member(QueueLock{}));
  for (auto* op = ad::op_queue_access::front(queue); op != nullptr; op = ad::op_queue_access::next(op)) {
    if (is_handler(op)) return true;
  }
  return false;
}

#else

bool more_ready_handlers(ad::scheduler&) { return true; }  // cannot tell: count on more

#endif  // ROUTING_ASIO_INTERNALS

}  // namespace routing::rpc::asio_internals
