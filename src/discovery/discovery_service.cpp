#include "discovery/discovery_service.h"

#include "discovery/protocol_json.h"

#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/json/object.hpp>
#include <boost/json/serialize.hpp>

#include <algorithm>
#include <random>

namespace routing::discovery {
namespace asio = boost::asio;
namespace json = boost::json;

namespace {

Reply invalid(std::string message) { return Reply::error(Status::invalid_argument, std::move(message)); }

std::uint64_t random_number() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  return rng();
}

}  // namespace

void DiscoveryService::register_procedures(rpc::Server& server) {
  auto bind = [this](std::size_t slot, Procedure member) {
    return [this, slot, member](std::string payload, rpc::CallContext& context) {
      return counted(slot, member, std::move(payload), context);
    };
  };
  server.handle(register_procedure, bind(0, &DiscoveryService::do_register));
  server.handle(query_procedure, bind(1, &DiscoveryService::do_query));
  server.handle(list_procedure, bind(2, &DiscoveryService::do_list));
  server.handle(deregister_procedure, bind(3, &DiscoveryService::do_deregister));
}

asio::awaitable<Reply> DiscoveryService::counted(std::size_t slot, Procedure procedure, std::string payload,
                                                 rpc::CallContext& context) {
  auto call = (this->*procedure)(std::move(payload), context);
  Reply reply = co_await std::move(call);
  auto outcome = [&] {
    switch (reply.status) {
      case Status::ok: return DiscoveryStats::ok;
      case Status::invalid_argument: return DiscoveryStats::invalid;
      case Status::not_found: return DiscoveryStats::not_found;
      case Status::resource_exhausted: return DiscoveryStats::refused;
      case Status::unavailable: return DiscoveryStats::draining;
      case Status::permission_denied: return DiscoveryStats::denied;
      default: return DiscoveryStats::other;
    }
  }();
  answers_[slot][outcome].fetch_add(1, std::memory_order_relaxed);
  co_return reply;
}

DiscoveryService::Client& DiscoveryService::client_of(rpc::CallContext& context) {
  if (auto* client = std::any_cast<Client>(&context.connection.state)) return *client;
  context.connection.state = Client{next_client_id_.fetch_add(1, std::memory_order_relaxed) + 1};
  return *std::any_cast<Client>(&context.connection.state);
}

DiscoveryLimits DiscoveryService::limits() const {
  std::lock_guard lock(mutex_);
  return limits_;
}

void DiscoveryService::set_limits(const DiscoveryLimits& limits) {
  std::lock_guard lock(mutex_);
  limits_ = limits;
}

Reply DiscoveryService::refuse(Status status, std::string reason) {
  refusals_.note(reason);
  return Reply::error(status, std::move(reason));
}

asio::awaitable<Reply> DiscoveryService::do_register(std::string payload, rpc::CallContext& context) {
  std::string error;
  auto args = parse_register_args(payload, error);
  if (!args) co_return invalid(std::move(error));
  const auto& [name, address, ttl_ms, placement] = *args;
  if (auto denied = policy_.refuse_use(context.connection, "register", name)) {
    co_return Reply::error(Status::permission_denied, std::move(*denied));
  }
  const std::size_t max_address_bytes = limits().max_address_bytes;
  if (address.size() > max_address_bytes) {
    co_return refuse(Status::invalid_argument, "field \"address\" is too long (" + std::to_string(address.size()) +
                                                   " bytes, at most " + std::to_string(max_address_bytes) + ")");
  }
  const std::uint64_t owner = client_of(context).id;

  std::unique_lock lock(mutex_);
  auto now = Clock::now();
  expire_leases(now);
  if (auto refusal = registry_.refusal(name, address, owner, limits_, placement)) {
    lock.unlock();
    co_return refuse(Status::resource_exhausted, std::move(*refusal));
  }
  if (registry_.register_instance(name, address, std::chrono::milliseconds(ttl_ms), now, owner, placement)) {
    wake(name);  // a new instance, or a new placement of one
  }
  // Draining: the next refresh comes on a new connection, to our successor.
  if (stopping_) context.connection.close_after_answer = true;
  // A lease shorter than the expiry loop's current sleep: wake it to re-plan.
  if (expiry_timer_ && registry_.next_expiry() < expiry_timer_->expiry()) {
    asio::post(expiry_timer_->get_executor(), [timer = expiry_timer_] { timer->cancel(); });
  }
  co_return Reply::success(json::serialize(json::object{{"ttl_ms", ttl_ms}}));
}

asio::awaitable<Reply> DiscoveryService::do_query(std::string payload, rpc::CallContext& context) {
  std::string error;
  auto args = parse_query_args(payload, error);
  if (!args) co_return invalid(std::move(error));
  const std::string& name = args->name;

  std::lock_guard lock(mutex_);
  expire_leases(Clock::now());
  if (stopping_) context.connection.close_after_answer = true;  // the next query goes to our successor
  auto address = registry_.pick(name, random_number());
  if (!address) co_return Reply::error(Status::not_found, "no live instance of '" + name + "'");
  co_return Reply::success(json::serialize(json::object{{"address", *address}}));
}

std::optional<std::string> DiscoveryService::long_poll_refusal(const Client& client) const {
  if (client.long_polls >= limits_.max_long_polls_per_connection) {
    return "too many long polls on this connection (at most " +
           std::to_string(limits_.max_long_polls_per_connection) + ")";
  }
  if (long_polls_ >= limits_.max_long_polls) {
    return "too many long polls waiting (at most " + std::to_string(limits_.max_long_polls) + "); retry later";
  }
  return std::nullopt;
}

// LIST of one name (CONTRACT §2) or of several ("names", an extension): both
// wait the same way, for a change of any name they list.
asio::awaitable<Reply> DiscoveryService::do_list(std::string payload, rpc::CallContext& context) {
  std::string error;
  auto args = parse_list_args(payload, error, limits().max_watch_names);
  if (!args) co_return invalid(std::move(error));
  const auto index = args->index;
  auto deadline = Clock::now() + std::chrono::milliseconds(args->wait_ms);
  if (args->names) {
    std::vector<std::string> names = std::move(*args->names);
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    ListAnswer answer = [this, &names, index](bool final) { return named_sets_answer(names, index, final); };
    co_return co_await long_poll(names, deadline, context, answer);
  }
  std::vector<std::string> names{std::move(args->name)};
  ListAnswer answer = [this, &names, index](bool final) -> std::optional<std::string> {
    AddressSet set = registry_.list(names.front());
    if (final || !index || set.index > static_cast<std::uint64_t>(*index)) return address_set_json(set);
    return std::nullopt;
  };
  co_return co_await long_poll(names, deadline, context, answer);
}

// Pages by change index: an answer holds every set changed up to its "index"
// and none after, so the next poll (from that index) gets the rest. Sets that
// share an index (names without instances) go in together.
std::optional<std::string> DiscoveryService::named_sets_answer(const std::vector<std::string>& names,
                                                               std::optional<std::int64_t> index, bool final) const {
  std::vector<std::pair<std::uint64_t, const std::string*>> changed;
  for (const auto& name : names) {
    std::uint64_t changed_at = registry_.change_index(name);
    if (!index || changed_at > static_cast<std::uint64_t>(*index)) changed.emplace_back(changed_at, &name);
  }
  if (changed.empty() && !final) return std::nullopt;
  std::sort(changed.begin(), changed.end());
  std::size_t bytes = list_frame_overhead;
  std::size_t fit = 0;  // changed[0..fit) go in
  while (fit < changed.size()) {
    std::size_t group_end = fit;
    std::size_t group_bytes = 0;
    for (; group_end < changed.size() && changed[group_end].first == changed[fit].first; ++group_end) {
      const std::string& name = *changed[group_end].second;
      group_bytes += named_set_bytes(name, registry_.list_bytes(name));
    }
    if (fit > 0 && bytes + group_bytes > limits_.max_list_bytes) break;  // the first group always goes in
    bytes += group_bytes;
    fit = group_end;
  }
  NamedSets answer{fit == changed.size() ? registry_.index() : changed[fit - 1].first, {}};
  answer.sets.reserve(fit);
  for (std::size_t i = 0; i < fit; ++i) answer.sets.emplace_back(*changed[i].second, registry_.watched(*changed[i].second));
  return named_sets_json(answer);
}

// A long poll parks on a timer that wake() cancels when one of its names
// changes; the connection cancels it too when the client hangs up, so a
// watcher that went away frees its connection at once instead of after wait_ms.
asio::awaitable<Reply> DiscoveryService::long_poll(const std::vector<std::string>& names, Clock::time_point deadline,
                                                   rpc::CallContext& context, const ListAnswer& answer) {
  Waiter waiter{co_await asio::this_coro::executor, nullptr};
  Client& client = client_of(context);
  auto hung_up = std::make_shared<bool>(false);
  std::unique_lock lock(mutex_);
  for (;;) {
    expire_leases(Clock::now());
    if (stopping_) {  // waiting or new: the watcher moves on to our successor
      if (waiter.timer) {
        forget_waiter(names, &waiter);
        --long_polls_;
        --client.long_polls;
      }
      lock.unlock();
      co_return draining_answer(context);
    }
    bool final = *hung_up || Clock::now() >= deadline;
    if (auto text = answer(final)) {
      if (waiter.timer) {
        forget_waiter(names, &waiter);
        --long_polls_;
        --client.long_polls;
      }
      co_return Reply::success(std::move(*text));
    }
    bool first_wait = !waiter.timer;
    if (first_wait) {
      if (auto refusal = long_poll_refusal(client)) {
        lock.unlock();
        co_return refuse(Status::resource_exhausted, std::move(*refusal));
      }
      ++long_polls_;
      ++client.long_polls;
      waiter.timer = std::make_shared<asio::steady_timer>(waiter.executor, deadline);
      for (const auto& name : names) waiters_[name].insert(&waiter);
    }
    lock.unlock();
    if (first_wait) {  // the connection reads on while the call waits (CallContext::on_abandoned)
      if (context.abandoned) {
        *hung_up = true;
        lock.lock();
        continue;
      }
      context.on_abandoned = [timer = waiter.timer, hung_up] {
        *hung_up = true;
        timer->cancel();
      };
    }
    // Woken by wake() (a cancel posted to this executor), by the client's
    // hang-up, or by the deadline.
    co_await waiter.timer->async_wait(rpc::use_nothrow);
    lock.lock();
  }
}

void DiscoveryService::forget_waiter(const std::vector<std::string>& names, Waiter* waiter) {
  for (const auto& name : names) {
    auto it = waiters_.find(name);
    if (it == waiters_.end()) continue;
    it->second.erase(waiter);
    if (it->second.empty()) waiters_.erase(it);
  }
}

asio::awaitable<Reply> DiscoveryService::do_deregister(std::string payload, rpc::CallContext& context) {
  std::string error;
  auto args = parse_deregister_args(payload, error);
  if (!args) co_return invalid(std::move(error));
  const auto& [name, address] = *args;
  if (auto denied = policy_.refuse_use(context.connection, "deregister", name)) {
    co_return Reply::error(Status::permission_denied, std::move(*denied));
  }

  std::lock_guard lock(mutex_);
  if (registry_.deregister(name, address)) wake(name);
  if (stopping_) context.connection.close_after_answer = true;
  co_return Reply::success("{}");
}

// While draining, leases do not end: our registrants are moving to the
// successor and stop refreshing here, so an expiry would only announce an
// instance gone that is alive (the bug of issue 21: watchers still on the
// draining discoveryd saw their systems empty).
void DiscoveryService::expire_leases(Clock::time_point now) {
  if (stopping_) return;
  const std::size_t before = registry_.size();
  auto changed = registry_.expire(now);
  leases_expired_ += before - registry_.size();
  for (const auto& name : changed) wake(name);
}

// Status 14 and a closed connection rather than an answer: an OK answer from a
// draining discoveryd tells nothing new and would be polled again at once on
// the same connection (a hot loop that keeps the connection from ever being
// quiet, so the drain never closes it). Every watcher treats a failed LIST by
// closing its connection and reconnecting after a pause: to the successor on
// the same port. The last sets it delivered stay in force meanwhile.
Reply DiscoveryService::draining_answer(rpc::CallContext& context) {
  context.connection.close_after_answer = true;
  return Reply::error(Status::unavailable, std::string(draining_reply));
}

void DiscoveryService::wake(const std::string& name) {
  auto it = waiters_.find(name);
  if (it == waiters_.end()) return;
  for (Waiter* waiter : it->second) {
    asio::post(waiter->executor, [timer = waiter->timer] { timer->cancel(); });
  }
}

void DiscoveryService::wake_all() {
  for (const auto& [name, set] : waiters_) wake(name);
}

asio::awaitable<void> DiscoveryService::run_expiry() {
  {
    std::lock_guard lock(mutex_);
    expiry_timer_ = std::make_shared<asio::steady_timer>(co_await asio::this_coro::executor);
  }
  // Bounded sleep: even without a known expiry, re-check now and then.
  constexpr auto max_sleep = std::chrono::milliseconds(250);
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
      auto now = Clock::now();
      expire_leases(now);
      auto wake_at = std::min(registry_.next_expiry().value_or(now + max_sleep), now + max_sleep);
      expiry_timer_->expires_at(wake_at);
    }
    co_await expiry_timer_->async_wait(rpc::use_nothrow);
  }
}

void DiscoveryService::stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_all();
  if (expiry_timer_) {
    asio::post(expiry_timer_->get_executor(), [timer = expiry_timer_] { timer->cancel(); });
  }
}

std::size_t DiscoveryService::waiting_long_polls() const {
  std::lock_guard lock(mutex_);
  return long_polls_;
}

}  // namespace routing::discovery

namespace routing::discovery {

DiscoveryStats DiscoveryService::stats() const {
  DiscoveryStats stats;
  for (std::size_t p = 0; p < DiscoveryStats::procedure_count; ++p) {
    for (std::size_t o = 0; o < DiscoveryStats::outcome_count; ++o) {
      stats.answers[p][o] = answers_[p][o].load(std::memory_order_relaxed);
    }
  }
  stats.policy_denials = policy_.denials();
  auto policy = policy_.current();
  stats.policy_rules = policy ? policy->rule_count() : 0;
  std::lock_guard lock(mutex_);
  stats.names = registry_.names();
  stats.instances = registry_.size();
  stats.long_polls = long_polls_;
  stats.leases_expired = leases_expired_;
  return stats;
}

}  // namespace routing::discovery
