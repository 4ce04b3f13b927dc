#pragma once
// Resolves one backend's host name off the event loop, with a timeout, and
// again every `refresh` (issue 20, finding 7). Resolving in Backend's
// constructor (getaddrinfo on the discovery thread) let one unresolvable
// name block a worker for seconds, and a resolved address never changed.
//
// The lookup itself runs wherever `resolve` runs it (the default: Asio's
// async_resolve, on Asio's own resolver thread); the refresher only keeps
// its timers and state on `loop`, and hands every good answer to `publish`.
// An attempt that neither answers nor fails within `timeout` is given up;
// a failed or timed-out refresh keeps the last good address (nothing is
// published). stop() (from any thread) ends it: no timer stays armed.
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace routing::core {

class DnsRefresher : public std::enable_shared_from_this<DnsRefresher> {
 public:
  using Endpoint = boost::asio::ip::tcp::endpoint;
  // One lookup's outcome: an endpoint, or `error` non-empty.
  struct Answer {
    Endpoint endpoint;
    std::string error;
  };
  using AnswerHandler = std::function<void(Answer)>;
  // Starts looking `host`:`port` up and calls `done` once, from any thread
  // (or never: the timeout covers it). Returns how to cancel it (may be empty).
  using ResolveFunction = std::function<std::function<void()>(
      const boost::asio::any_io_executor& loop, const std::string& host, std::uint16_t port, AnswerHandler done)>;
  using Publish = std::function<void(const Endpoint&)>;
  using Failed = std::function<void(const std::string& error)>;

  struct Settings {
    std::chrono::milliseconds refresh{30000};  // again after this (0: resolve once)
    std::chrono::milliseconds timeout{2000};   // one attempt gives up after this
  };

  // Asio's async_resolve: getaddrinfo on Asio's resolver thread, never on `loop`.
  static ResolveFunction asio_resolve();

  // Starts the first lookup at once (on `loop`).
  static std::shared_ptr<DnsRefresher> start(boost::asio::any_io_executor loop, std::string host, std::uint16_t port,
                                             Settings settings, ResolveFunction resolve, Publish publish,
                                             Failed failed = {});
  void stop();

  DnsRefresher(boost::asio::any_io_executor loop, std::string host, std::uint16_t port, Settings settings,
               ResolveFunction resolve, Publish publish, Failed failed);

 private:
  void begin_attempt();                            // on loop_
  void finish_attempt(std::uint64_t id, Answer answer, bool timed_out);  // on loop_
  void schedule_next();                            // on loop_

  boost::asio::any_io_executor loop_;
  const std::string host_;
  const std::uint16_t port_;
  const Settings settings_;
  ResolveFunction resolve_;
  Publish publish_;
  Failed failed_;
  // Below: touched on loop_ only.
  boost::asio::steady_timer timeout_timer_;
  boost::asio::steady_timer refresh_timer_;
  std::function<void()> cancel_lookup_;
  std::uint64_t attempt_ = 0;  // the attempt in progress (answers of older ones are dropped)
  bool in_progress_ = false;
  bool stopped_ = false;
};

}  // namespace routing::core
