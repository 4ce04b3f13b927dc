#include "discovery/etcd_watch_hub.h"

#include "discovery/discovery_health.h"

#include "common/log.h"
#include "discovery/etcd_keys.h"
#include "discovery/watch_handle.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <algorithm>
#include <atomic>

namespace routing::discovery {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

// Reads in flight at once: 10 000 names are read in seconds, and etcd never
// sees more than this many of our connections for them.
constexpr std::size_t max_readers = 8;

bool flag(const json::object& object, std::string_view key) {
  auto* field = object.if_contains(key);
  return field && field->is_bool() && field->get_bool();
}

// One event of a watch message: {"type":"DELETE"?, "kv":{"key","value","mod_revision"}}.
template <typename Event>
std::optional<Event> event_of(const json::value& item) {
  if (!item.is_object()) return std::nullopt;
  auto* kv = item.as_object().if_contains("kv");
  if (!kv || !kv->is_object()) return std::nullopt;
  auto parsed = etcd::kv_of(kv->as_object());
  if (!parsed) return std::nullopt;
  auto* type = item.as_object().if_contains("type");
  Event event;
  event.is_delete = type && type->is_string() && type->get_string() == "DELETE";
  event.key = std::move(parsed->first);
  event.revision = etcd_int(kv->as_object(), "mod_revision").value_or(0);
  if (event.is_delete) return event;
  // A value that is no instance counts as none, as a read would skip it.
  auto instance = etcd::instance_of_value(parsed->second);
  if (instance) event.instance = std::move(*instance);
  event.is_delete = !instance;
  return event;
}

}  // namespace

// One watch(): its callback and what it was last given. It does not keep the
// hub alive (the hub's run() does while any name is watched), so the hub's
// names_ -> subscriber -> hub is no cycle.
struct EtcdWatchHub::Subscriber : std::enable_shared_from_this<Subscriber> {
  std::weak_ptr<EtcdWatchHub> hub;
  std::string name;
  WatchCallback on_change;
  std::atomic<bool> stopped{false};
  std::optional<AddressSet> last;  // on the executor only

  Subscriber(std::weak_ptr<EtcdWatchHub> h, std::string n, WatchCallback cb)
      : hub(std::move(h)), name(std::move(n)), on_change(std::move(cb)) {}

  // Any thread; ends this subscription only. Once stop() has returned, a
  // callback not already running is never called again.
  void stop() {
    if (stopped.exchange(true)) return;
    auto owner = hub.lock();
    if (!owner) return;  // the hub is gone: nothing to end
    asio::post(owner->executor_, [owner, self = shared_from_this()] { owner->unsubscribe(self); });
  }
  // The set, unless this subscriber already has it (the same addresses and placements).
  void offer(const AddressSet& set) {
    if (stopped || (last && same_instances(*last, set))) return;
    last = set;
    on_change(set);
  }
};

EtcdWatchHub::EtcdWatchHub(asio::any_io_executor executor, std::shared_ptr<EtcdHttp> http, DiscoveryOptions options)
    : executor_(std::move(executor)), http_(std::move(http)), pause_(executor_),
      backoff_(options.retry_initial, options.retry_max), merge_window_(options.update_merge_window),
      merge_timer_(executor_) {}

std::unique_ptr<WatchHandle> EtcdWatchHub::watch(std::string name, WatchCallback on_change) {
  auto subscriber = std::make_shared<Subscriber>(weak_from_this(), std::move(name), std::move(on_change));
  asio::post(executor_, [self = shared_from_this(), subscriber] { self->subscribe(subscriber); });
  return handle_for(std::move(subscriber));
}

void EtcdWatchHub::subscribe(const std::shared_ptr<Subscriber>& subscriber) {
  auto [found, added] = names_.try_emplace(subscriber->name);
  Name& state = found->second;
  state.subscribers.push_back(subscriber);
  if (added) queue_read(found->first, state);
  if (state.read_revision && live_) subscriber->offer(etcd::set_of(state.kvs, state.index));
  if (!running_) {
    running_ = true;
    asio::co_spawn(executor_, run(), asio::detached);
  }
  start_readers();
}

void EtcdWatchHub::unsubscribe(const std::shared_ptr<Subscriber>& subscriber) {
  auto found = names_.find(subscriber->name);
  if (found == names_.end()) return;
  auto& subscribers = found->second.subscribers;
  subscribers.erase(std::remove(subscribers.begin(), subscribers.end(), subscriber), subscribers.end());
  if (subscribers.empty()) names_.erase(found);
  if (names_.empty()) close();
}

// Nothing watched: nothing held. A name watched later starts afresh.
void EtcdWatchHub::close() {
  live_ = false;  // reads from now on would not be covered by the next stream
  pending_.clear();
  resume_.reset();
  if (cancel_) cancel_->cancel();
  pause_.cancel();
}

asio::awaitable<void> EtcdWatchHub::run() {
  auto self = shared_from_this();
  while (!names_.empty()) {
    auto cancel = cancel_ = std::make_shared<StreamCancel>();
    etcd_cancelled_ = read_failed_ = false;
    bool fresh = !resume_;
    std::string path = "/v3/watch";
    json::object body = create_request();
    std::function<bool(const json::object&)> handle = [this](const json::object& m) { return on_message(m); };
    auto ended = co_await http_->stream(std::move(path), std::move(body), std::move(handle), cancel);
    live_ = false;
    if (names_.empty()) break;
    if (cancel->cancelled && !read_failed_) continue;  // closed, and a name came back meanwhile
    if (etcd_cancelled_ && !fresh) {
      common::log().info("etcd compacted revision {} where the watch stream was to resume: reading the {} watched "
                         "names again", resume_.value_or(0), names_.size());
      read_all_again();
      continue;
    }
    after_stream(ended);
    pause_.expires_after(backoff_.next());
    co_await pause_.async_wait(asio::as_tuple(asio::use_awaitable));
  }
  running_ = false;
}

json::object EtcdWatchHub::create_request() const {
  json::object create = etcd::range_of(std::string(etcd_key_prefix));
  if (resume_) create["start_revision"] = std::to_string(*resume_);
  return {{"create_request", std::move(create)}};
}

void EtcdWatchHub::after_stream(const Result<bool>& ended) {
  if (etcd_cancelled_) {
    // A fresh stream (no start revision) cannot have been compacted: etcd
    // refused it. Read everything again after the pause rather than spin.
    common::log().warn("etcd cancelled the watch stream of {}: retrying", etcd_key_prefix);
    read_all_again();
  } else if (!read_failed_) {
    DiscoveryHealth::process().failed("etcd watch stream of " + std::string(etcd_key_prefix), ended.error);
  }
}

bool EtcdWatchHub::on_message(const json::object& message) {
  auto* result = message.if_contains("result");
  if (!result || !result->is_object()) return true;
  auto& body = result->as_object();
  if (flag(body, "canceled")) {
    etcd_cancelled_ = true;
    return false;
  }
  auto revision = etcd::revision_of(body);
  if (flag(body, "created")) on_created(revision);
  if (auto* events = body.if_contains("events"); events && events->is_array()) on_events(events->as_array(), revision);
  return true;
}

void EtcdWatchHub::on_created(std::int64_t revision) {
  DiscoveryHealth::process().succeeded();
  live_ = true;
  if (!resume_) resume_ = revision + 1;  // a fresh stream: reads from now on have R >= revision
  // Subscribers that came while the stream was down get their name's set now.
  for (auto& [name, state] : names_) {
    if (state.read_revision) deliver(state);
  }
  start_readers();
}

void EtcdWatchHub::on_events(const json::array& events, std::int64_t revision) {
  DiscoveryHealth::process().succeeded();
  std::vector<Name*> changed;
  std::int64_t last = 0;
  for (const auto& item : events) {
    auto event = event_of<Event>(item);
    if (!event) continue;
    last = std::max(last, event->revision);
    auto name = etcd_name_of_key(event->key);
    auto found = name ? names_.find(*name) : names_.end();
    if (found == names_.end()) continue;  // a name nobody here watches
    Name& state = found->second;
    if (state.reading) {
      state.early.push_back(std::move(*event));
    } else if (state.read_revision && event->revision > *state.read_revision) {
      apply(state, *event);
      state.index = revision;
      changed.push_back(&state);
    }  // else: already in the read, or in the read still to come
  }
  if (last > 0 && resume_) resume_ = std::max(*resume_, last + 1);
  backoff_.reset();  // the stream works: a later break starts retrying quickly
  std::sort(changed.begin(), changed.end());
  changed.erase(std::unique(changed.begin(), changed.end()), changed.end());
  for (Name* state : changed) deliver_merged(*state);
}

// Every name is read again; what was delivered stands until then, and reads
// in flight are stale (a fresh stream may start after their revision).
void EtcdWatchHub::read_all_again() {
  resume_.reset();
  for (auto& [name, state] : names_) {
    state.read_revision.reset();
    state.reading = false;
    state.early.clear();
    queue_read(name, state);
  }
}

void EtcdWatchHub::queue_read(const std::string& name, Name& state) {
  if (state.queued) return;
  state.queued = true;
  pending_.push_back(name);
}

void EtcdWatchHub::start_readers() {
  while (live_ && readers_ < max_readers && readers_ < pending_.size()) {
    ++readers_;
    asio::co_spawn(executor_, reader(), asio::detached);
  }
}

asio::awaitable<void> EtcdWatchHub::reader() {
  auto self = shared_from_this();
  while (live_ && !pending_.empty()) {
    std::string name = std::move(pending_.front());
    pending_.pop_front();
    auto found = names_.find(name);
    if (found == names_.end() || !found->second.queued) continue;  // unwatched, or read already
    found->second.queued = false;
    found->second.reading = true;
    auto id = found->second.read_id = ++last_read_id_;
    std::string path = "/v3/kv/range";
    json::object body = etcd::range_of(etcd::name_prefix(name));
    auto listed = co_await http_->post(std::move(path), std::move(body));
    found = names_.find(name);
    if (found == names_.end() || !found->second.reading || found->second.read_id != id) continue;  // stale
    found->second.reading = false;
    if (!listed.ok()) {
      read_failed(name, found->second, listed.error);
      break;
    }
    apply_read(found->second, listed.value);
    if (pending_.empty() && readers_ == 1) backoff_.reset();  // every name read: etcd is well
  }
  --readers_;
}

void EtcdWatchHub::read_failed(const std::string& name, Name& state, const std::string& error) {
  DiscoveryHealth::process().failed("etcd read of watched name '" + name + "'", error);
  state.early.clear();
  queue_read(name, state);
  if (live_) {
    read_failed_ = true;
    cancel_->cancel();  // pause with the stream's backoff, then read it again
  }
}

void EtcdWatchHub::apply_read(Name& state, const json::object& answer) {
  DiscoveryHealth::process().succeeded();
  state.kvs = etcd::kvs_of(answer);
  state.read_revision = state.index = etcd::revision_of(answer);
  for (const auto& event : state.early) {
    if (event.revision > *state.read_revision) apply(state, event);
  }
  state.early.clear();
  deliver(state);  // the read just succeeded: etcd is reachable, the set is current
}

void EtcdWatchHub::apply(Name& state, const Event& event) {
  if (event.is_delete) state.kvs.erase(event.key);
  else state.kvs.insert_or_assign(event.key, event.instance);
}

void EtcdWatchHub::deliver_merged(Name& state) {
  const auto now = std::chrono::steady_clock::now();
  if (now - state.delivered_at >= merge_window_) {
    deliver(state);
    return;
  }
  state.merging = true;
  const auto due = state.delivered_at + merge_window_;
  if (!merge_armed_ || due < merge_timer_.expiry()) arm_merge_timer(due);
}

void EtcdWatchHub::deliver_merged_due() {
  merge_armed_ = false;
  const auto now = std::chrono::steady_clock::now();
  std::optional<std::chrono::steady_clock::time_point> next;
  for (auto& [name, state] : names_) {
    if (!state.merging) continue;
    const auto due = state.delivered_at + merge_window_;
    if (due <= now) {
      deliver(state);
    } else if (!next || due < *next) {
      next = due;
    }
  }
  if (next) arm_merge_timer(*next);
}

void EtcdWatchHub::arm_merge_timer(std::chrono::steady_clock::time_point at) {
  merge_armed_ = true;
  merge_timer_.expires_at(at);  // an earlier due time replaces the wait armed before
  merge_timer_.async_wait([weak = weak_from_this()](const boost::system::error_code& ec) {
    if (ec == boost::asio::error::operation_aborted) return;
    if (auto self = weak.lock()) self->deliver_merged_due();
  });
}

void EtcdWatchHub::deliver(Name& state) {
  state.delivered_at = std::chrono::steady_clock::now();
  state.merging = false;
  AddressSet set = etcd::set_of(state.kvs, state.index);
  auto subscribers = state.subscribers;  // a callback's watch() or stop() only posts, but be safe
  for (const auto& subscriber : subscribers) subscriber->offer(set);
}

}  // namespace routing::discovery
