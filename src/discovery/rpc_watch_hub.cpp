#include "discovery/rpc_watch_hub.h"

#include "discovery/discovery_health.h"

#include "common/backoff.h"
#include "common/log.h"
#include "discovery/rpc_name_watch.h"
#include "discovery/watch_handle.h"
#include "rpc/timed_call.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/json/array.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <atomic>
#include <utility>

namespace routing::discovery {
namespace asio = boost::asio;
namespace json = boost::json;

// One watch() call. It knows its hub weakly: the hub holds its watchers, and
// a strong pointer back would keep both alive for ever when the loop ends
// before a stop() is carried out (LeakSanitizer found that cycle).
struct RpcWatchHub::Watcher : std::enable_shared_from_this<Watcher> {
  std::string name;
  WatchCallback on_change;
  std::weak_ptr<RpcWatchHub> hub;
  std::atomic<bool> stopped{false};
  std::shared_ptr<RpcNameWatch> own_watch;  // after the fall-back; executor only

  Watcher(std::string n, WatchCallback cb, std::weak_ptr<RpcWatchHub> h)
      : name(std::move(n)), on_change(std::move(cb)), hub(std::move(h)) {}

  // On the executor: a watch stopped there gets nothing more.
  void deliver(const AddressSet& set) {
    if (!stopped) on_change(set);
  }
  // Any thread.
  void stop() {
    if (stopped.exchange(true)) return;
    auto owner = hub.lock();
    if (!owner) return;  // gone with its discovery: nothing left to stop
    asio::post(owner->executor_, [self = shared_from_this(), owner] { owner->remove(self); });
  }
};

RpcWatchHub::RpcWatchHub(asio::any_io_executor executor, std::string address, DiscoveryOptions options)
    : executor_(executor),
      address_(std::move(address)),
      options_(options),
      connection_(executor_, address_, options.call_timeout, rpc::default_max_frame_bytes, {}, false, options.tls),
      pause_(executor_) {}

std::unique_ptr<WatchHandle> RpcWatchHub::watch(std::string name, WatchCallback on_change) {
  auto watcher = std::make_shared<Watcher>(std::move(name), std::move(on_change), weak_from_this());
  asio::post(executor_, [watcher, self = shared_from_this()] { self->add(watcher); });
  return handle_for(watcher);
}

void RpcWatchHub::add(const std::shared_ptr<Watcher>& watcher) {
  if (watcher->stopped) return;
  if (per_name_) {
    start_name_watch(watcher, std::nullopt);
    return;
  }
  auto [followed, fresh] = names_.try_emplace(watcher->name);
  followed->second.watchers.push_back(watcher);
  if (followed->second.last) watcher->deliver(*followed->second.last);
  if (fresh) {
    full_needed_ = true;  // the poll in flight (if any) would not answer its set until it changes
    restart_soon();
  }
}

void RpcWatchHub::remove(const std::shared_ptr<Watcher>& watcher) {
  if (watcher->own_watch) {
    watcher->own_watch->stop();
    return;
  }
  auto followed = names_.find(watcher->name);
  if (followed == names_.end()) return;
  std::erase(followed->second.watchers, watcher);
  if (!followed->second.watchers.empty()) return;
  names_.erase(followed);  // a poll in flight may still answer it: ignored
  if (names_.empty()) {    // nothing watched: run() closes the connection and ends
    interrupt();
    pause_.cancel();
  }
}

// Starts run(), or cuts its long poll so that the next one includes the new
// names: once per burst, since a posted task runs after the adds already
// queued (a router adding thousands of names reconnects once).
void RpcWatchHub::restart_soon() {
  if (!running_) {
    running_ = true;
    asio::co_spawn(executor_, run(), asio::detached);  // starts from a post: after this burst too
    return;
  }
  if (restart_posted_) return;
  restart_posted_ = true;
  asio::post(executor_, [self = shared_from_this()] {
    self->restart_posted_ = false;
    self->interrupt();
  });
}

void RpcWatchHub::interrupt() {
  if (merging_) pause_.cancel();  // a new name is asked for at once
  if (!polling_) return;  // the next poll asks for what is needed
  interrupted_ = true;
  connection_.close();
}

asio::awaitable<void> RpcWatchHub::run() {
  auto self = shared_from_this();
  common::Backoff backoff(options_.retry_initial, options_.retry_max);
  std::shared_ptr<rpc::ClientConnection> indexed;  // the connection index_ came from
  while (!names_.empty() && !per_name_) {
    std::string error;
    auto connection = co_await connection_.get(error);
    if (names_.empty()) break;
    if (!connection) {
      DiscoveryHealth::process().failed("watching at discoveryd " + address_, error);
      co_await sleep(backoff.next());
      continue;
    }
    if (connection != indexed) {  // perhaps a restarted discoveryd, counting from zero again
      index_.reset();
      indexed = connection;
    }
    co_await merge_wait();
    if (names_.empty()) break;
    bool answered = co_await poll(connection);
    if (answered) {
      backoff.reset();
    } else {
      co_await sleep(backoff.next());
    }
  }
  connection_.close();
  running_ = false;
}

// One LIST of every watched name; false after a failure worth a pause.
asio::awaitable<bool> RpcWatchHub::poll(const std::shared_ptr<rpc::ClientConnection>& connection) {
  std::string args = poll_args();
  polling_ = true;
  Reply reply = co_await rpc::call_within(connection, list_procedure, args, options_.long_poll + options_.call_timeout);
  polling_ = false;
  if (std::exchange(interrupted_, false)) co_return true;  // cut on purpose: ask again at once
  if (reply.status == Status::invalid_argument) {
    fall_back(reply.payload);
    co_return true;
  }
  auto answer = reply.ok() ? parse_named_sets(reply.payload) : std::nullopt;
  if (!answer && reply.payload == draining_reply) {
    common::log().info("watches: discoveryd at {} is draining: reconnecting", address_);
  } else if (!answer) {
    DiscoveryHealth::process().failed("LIST at discoveryd " + address_, reply.payload);
  }
  if (!answer) {
    connection_.close();
    co_return false;
  }
  DiscoveryHealth::process().succeeded();
  index_ = answer->index;
  last_answer_ = std::chrono::steady_clock::now();
  deliver(*answer);
  co_return true;
}

asio::awaitable<void> RpcWatchHub::sleep(std::chrono::milliseconds time) {
  pause_.expires_after(time);
  co_await pause_.async_wait(rpc::use_nothrow);
}

asio::awaitable<void> RpcWatchHub::merge_wait() {
  if (!index_ || full_needed_) co_return;
  const auto ready = last_answer_ + options_.update_merge_window;
  if (std::chrono::steady_clock::now() >= ready) co_return;
  merging_ = true;
  pause_.expires_at(ready);
  co_await pause_.async_wait(rpc::use_nothrow);
  merging_ = false;
}

// {"names":[...]}, from index_ and waiting when it is known.
std::string RpcWatchHub::poll_args() {
  if (std::exchange(full_needed_, false)) index_.reset();
  json::array names;
  names.reserve(names_.size());
  for (const auto& [name, followed] : names_) names.emplace_back(name);
  json::object args{{"names", std::move(names)}};
  if (index_) {
    args["index"] = *index_;
    args["wait_ms"] = options_.long_poll.count();
  }
  return json::serialize(args);
}

// Each set that differs from the one its name delivered last (addresses or
// placements) goes to every watcher of the name (the answer after a
// reconnect holds every set).
void RpcWatchHub::deliver(const NamedSets& answer) {
  for (const auto& [name, set] : answer.sets) {
    auto followed = names_.find(name);
    if (followed == names_.end()) continue;  // no longer watched
    auto& last = followed->second.last;
    if (last && same_instances(*last, set)) continue;
    last = set;
    auto watchers = followed->second.watchers;  // callbacks may watch or stop (both posted)
    for (const auto& watcher : watchers) watcher->deliver(set);
  }
}

void RpcWatchHub::fall_back(const std::string& why) {
  per_name_ = true;
  common::log().info("watches: discoveryd at {} refused the multi-name LIST ({}); following each watched name "
                     "with a long poll of its own",
                     address_, why);
  auto names = std::exchange(names_, {});
  for (auto& [name, followed] : names) {
    for (const auto& watcher : followed.watchers) start_name_watch(watcher, followed.last);
  }
}

void RpcWatchHub::start_name_watch(const std::shared_ptr<Watcher>& watcher, std::optional<AddressSet> last) {
  if (watcher->stopped) return;
  std::weak_ptr<Watcher> weak = watcher;
  WatchCallback forward = [weak](const AddressSet& set) {
    if (auto alive = weak.lock()) alive->deliver(set);
  };
  watcher->own_watch =
      RpcNameWatch::start(executor_, address_, watcher->name, options_, std::move(forward), std::move(last));
}

}  // namespace routing::discovery
