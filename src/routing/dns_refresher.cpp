#include "routing/dns_refresher.h"

#include <boost/asio/post.hpp>

namespace routing::core {
namespace asio = boost::asio;

DnsRefresher::ResolveFunction DnsRefresher::asio_resolve() {
  return [](const asio::any_io_executor& loop, const std::string& host, std::uint16_t port,
            AnswerHandler done) -> std::function<void()> {
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(loop);
    resolver->async_resolve(host, std::to_string(port),
                            [resolver, done = std::move(done)](const boost::system::error_code& ec,
                                                               const asio::ip::tcp::resolver::results_type& found) {
                              if (ec) return done(Answer{{}, ec.message()});
                              if (found.empty()) return done(Answer{{}, "no address found"});
                              done(Answer{found.begin()->endpoint(), {}});
                            });
    // Called on `loop`, where the resolver lives; its handler keeps it alive until then.
    return [weak = std::weak_ptr(resolver)] {
      if (auto alive = weak.lock()) alive->cancel();
    };
  };
}

DnsRefresher::DnsRefresher(asio::any_io_executor loop, std::string host, std::uint16_t port, Settings settings,
                           ResolveFunction resolve, Publish publish, Failed failed)
    : loop_(std::move(loop)),
      host_(std::move(host)),
      port_(port),
      settings_(settings),
      resolve_(std::move(resolve)),
      publish_(std::move(publish)),
      failed_(std::move(failed)),
      timeout_timer_(loop_),
      refresh_timer_(loop_) {}

std::shared_ptr<DnsRefresher> DnsRefresher::start(asio::any_io_executor loop, std::string host, std::uint16_t port,
                                                  Settings settings, ResolveFunction resolve, Publish publish,
                                                  Failed failed) {
  auto refresher = std::make_shared<DnsRefresher>(loop, std::move(host), port, settings, std::move(resolve),
                                                  std::move(publish), std::move(failed));
  asio::post(refresher->loop_, [refresher] { refresher->begin_attempt(); });
  return refresher;
}

void DnsRefresher::stop() {
  asio::post(loop_, [self = shared_from_this()] {
    self->stopped_ = true;
    self->timeout_timer_.cancel();
    self->refresh_timer_.cancel();
    if (auto cancel = std::exchange(self->cancel_lookup_, nullptr)) cancel();
  });
}

void DnsRefresher::begin_attempt() {
  if (stopped_) return;
  const auto id = ++attempt_;
  in_progress_ = true;
  timeout_timer_.expires_after(settings_.timeout);
  // Whether it fired or was cancelled: an attempt already finished ignores it.
  timeout_timer_.async_wait([self = shared_from_this(), id](const boost::system::error_code&) {
    self->finish_attempt(id, Answer{{}, "no answer within " + std::to_string(self->settings_.timeout.count()) + " ms"},
                         true);
  });
  // Weak: a lookup that never answers must not keep the refresher alive.
  AnswerHandler done = [weak = weak_from_this(), id](Answer answer) {
    auto self = weak.lock();
    if (!self) return;
    asio::post(self->loop_, [self, id, answer = std::move(answer)]() mutable {
      self->finish_attempt(id, std::move(answer), false);
    });
  };
  try {
    cancel_lookup_ = resolve_(loop_, host_, port_, std::move(done));
  } catch (const std::exception& e) {
    finish_attempt(id, Answer{{}, e.what()}, false);
  }
}

void DnsRefresher::finish_attempt(std::uint64_t id, Answer answer, bool timed_out) {
  if (stopped_ || id != attempt_ || !in_progress_) return;
  in_progress_ = false;
  timeout_timer_.cancel();
  auto cancel = std::exchange(cancel_lookup_, nullptr);
  if (timed_out && cancel) cancel();
  if (answer.error.empty()) {
    publish_(answer.endpoint);
  } else if (failed_) {
    failed_(answer.error);
  }
  schedule_next();
}

void DnsRefresher::schedule_next() {
  if (stopped_ || settings_.refresh.count() <= 0) return;
  refresh_timer_.expires_after(settings_.refresh);
  refresh_timer_.async_wait([self = shared_from_this()](const boost::system::error_code& ec) {
    if (!ec) self->begin_attempt();
  });
}

}  // namespace routing::core
