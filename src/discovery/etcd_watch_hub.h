#pragma once
// Every watch of one EtcdDiscovery shares ONE etcd watch stream over the whole
// services prefix (/routing/services/), however many names are watched: a
// router following 10 000 systems holds one stream at etcd, not 10 000. The
// price: events of names nobody here watches arrive too, and are dropped
// after a key decode and a map lookup.
//
// Per watched name the hub keeps its kv map and R, the revision of the
// /v3/kv/range read that filled it. A stream event for the name is applied
// when its kv.mod_revision is above R (the read already holds older ones).
//
// Why no event is missed (the revision scheme):
// - A name is read only while the stream is live (etcd confirmed its
//   creation at revision C). The stream delivers, in order, every event from
//   its start revision S (S <= C + 1), and a read done after the creation has
//   R >= C >= S - 1: read + stream cover every revision of the name.
// - An event for a name whose read is in flight is kept and applied after the
//   read, if above R (the read may have been served before or after it). An
//   event for a name whose read has not started is dropped: the read will
//   hold it. (Reads are linearizable, so this holds across cluster members:
//   a read that starts after an event was received has R >= its revision.)
// - `resume_` is where the next stream starts: C + 1 once a fresh stream is
//   created, then one past the last event received. Every name read is
//   current up to resume_ - 1, so a stream that breaks (etcd restart, network)
//   resumes there and nothing is read again.
// - If etcd cancels the stream (its start revision was compacted), every
//   watched name is read again under a fresh stream (no start revision), and
//   reads that were in flight are discarded.
// - When the last name is unwatched the stream is closed and `resume_`
//   forgotten: nothing is held at etcd, and the next name starts afresh.
//
// A read that fails aborts the stream and retries after a backoff pause, so
// the stream's retry pacing covers reads too.
#include "discovery/discovery.h"
#include "discovery/etcd_http.h"
#include "discovery/etcd_keys.h"

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/json/array.hpp>

#include "common/backoff.h"

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace routing::discovery {

class EtcdWatchHub : public std::enable_shared_from_this<EtcdWatchHub> {
 public:
  EtcdWatchHub(boost::asio::any_io_executor executor, std::shared_ptr<EtcdHttp> http, DiscoveryOptions options);

  // Discovery::watch: safe from any thread; callbacks run on the executor.
  std::unique_ptr<WatchHandle> watch(std::string name, WatchCallback on_change);

 private:
  struct Subscriber;
  struct Event {
    bool is_delete = false;
    std::string key;
    etcd::Instance instance;    // a PUT's value
    std::int64_t revision = 0;  // kv.mod_revision
  };
  struct Name {
    std::map<std::string, etcd::Instance> kvs;  // key -> its value
    std::optional<std::int64_t> read_revision;  // none: to be read (again)
    bool queued = false;   // waiting in pending_ for a reader
    bool reading = false;  // a read is in flight...
    std::uint64_t read_id = 0;  // ...this one; others that come back are stale
    std::vector<Event> early;  // events received during that read
    std::int64_t index = 0;    // the revision delivered as AddressSet::index
    std::chrono::steady_clock::time_point delivered_at;  // its last set sent
    bool merging = false;  // changed since: sent when update_merge_window is over
    std::vector<std::shared_ptr<Subscriber>> subscribers;
  };

  // All below run on executor_.
  void subscribe(const std::shared_ptr<Subscriber>& subscriber);
  void unsubscribe(const std::shared_ptr<Subscriber>& subscriber);
  void close();
  boost::asio::awaitable<void> run();
  boost::json::object create_request() const;
  void after_stream(const Result<bool>& ended);
  bool on_message(const boost::json::object& message);
  void on_created(std::int64_t revision);
  void on_events(const boost::json::array& events, std::int64_t revision);
  void read_all_again();
  void queue_read(const std::string& name, Name& state);
  void start_readers();
  boost::asio::awaitable<void> reader();
  void read_failed(const std::string& name, Name& state, const std::string& error);
  void apply_read(Name& state, const boost::json::object& answer);
  static void apply(Name& state, const Event& event);
  // Sends the name's set to its subscribers now.
  static void deliver(Name& state);
  // A change from the stream: sent now if the last set went out at least
  // update_merge_window ago, else with the changes that follow it when the
  // window is over (as the rpc:// watch merges them).
  void deliver_merged(Name& state);
  void deliver_merged_due();
  void arm_merge_timer(std::chrono::steady_clock::time_point at);


  boost::asio::any_io_executor executor_;
  std::shared_ptr<EtcdHttp> http_;
  std::map<std::string, Name> names_;  // every watched name
  std::deque<std::string> pending_;    // names to read, oldest first
  std::size_t readers_ = 0;
  std::uint64_t last_read_id_ = 0;
  std::optional<std::int64_t> resume_;  // the next stream's start revision
  bool running_ = false;                // run() is on
  bool live_ = false;                   // the stream is created and open
  bool etcd_cancelled_ = false;         // etcd ended the stream (compaction)
  bool read_failed_ = false;            // a read failed: the stream was aborted
  std::shared_ptr<StreamCancel> cancel_;
  boost::asio::steady_timer pause_;
  common::Backoff backoff_;
  std::chrono::milliseconds merge_window_;
  boost::asio::steady_timer merge_timer_;  // armed while a name is merging
  bool merge_armed_ = false;
};

}  // namespace routing::discovery
