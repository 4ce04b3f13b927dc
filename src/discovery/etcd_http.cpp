#include "discovery/etcd_http.h"

#include "discovery/etcd_stream.h"
#include "rpc/address.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

#include <charconv>

namespace routing::discovery {
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;

namespace {

constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

http::request<http::string_body> make_request(const std::string& host, const std::string& path,
                                              const json::object& body) {
  http::request<http::string_body> request{http::verb::post, path, 11};
  request.set(http::field::host, host);
  request.set(http::field::content_type, "application/json");
  request.body() = json::serialize(body);
  request.prepare_payload();
  return request;
}

// A failure as a log line shows it: TLS errors with OpenSSL's reason
// ("certificate verify failed"), not only "handshake failed".
std::string describe(const boost::system::error_code& ec) {
  if (ec.category() == asio::error::get_ssl_category()) {
    return "TLS: " + ec.message();
  }
  return ec.message();
}

std::optional<json::object> parse_object(std::string_view text) {
  boost::system::error_code ec;
  auto value = json::parse(text, ec);
  if (ec || !value.is_object()) return std::nullopt;
  return std::move(value.as_object());
}

// etcd's error answers look like {"error":"...","message":"...","code":N}.
std::string http_error(unsigned status, std::string_view body) {
  if (auto object = parse_object(body)) {
    for (auto key : {"message", "error"}) {
      if (auto* field = object->if_contains(key); field && field->is_string()) {
        return "etcd answered HTTP " + std::to_string(status) + ": " + std::string(field->get_string());
      }
    }
  }
  return "etcd answered HTTP " + std::to_string(status);
}

}  // namespace

std::optional<std::int64_t> etcd_int(const json::object& object, std::string_view key) {
  auto* field = object.if_contains(key);
  if (field == nullptr) return std::nullopt;
  if (field->is_int64()) return field->get_int64();
  if (field->is_uint64()) return static_cast<std::int64_t>(field->get_uint64());
  if (!field->is_string()) return std::nullopt;
  std::string_view text = field->get_string();
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc{} || end != text.data() + text.size()) return std::nullopt;
  return value;
}

EtcdHttp::EtcdHttp(asio::any_io_executor executor, std::vector<std::string> endpoints,
                   std::chrono::milliseconds timeout, std::shared_ptr<const rpc::tls::Context> tls)
    : executor_(std::move(executor)),
      endpoints_(std::move(endpoints)),
      timeout_(timeout),
      tls_(std::make_unique<EtcdTls>(std::move(tls))) {}

EtcdHttp::~EtcdHttp() = default;

asio::awaitable<Result<json::object>> EtcdHttp::post(std::string path, json::object body) {
  std::string last_error;
  for (std::size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    std::size_t which = (preferred_ + attempt) % endpoints_.size();
    const std::string& endpoint = endpoints_[which];
    EtcdStream stream(executor_, *tls_);
    stream.tcp().expires_after(timeout_);
    if (auto ec = co_await stream.connect(endpoint)) {
      last_error = "etcd at " + endpoint + " unreachable: " + describe(ec);
      continue;
    }
    auto request = make_request(endpoint, path, body);
    auto [write_ec, written] =
        co_await stream.with([&](auto& s) { return http::async_write(s, request, use_nothrow); });
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    boost::system::error_code read_ec;
    if (!write_ec) {
      std::tie(read_ec, std::ignore) =
          co_await stream.with([&](auto& s) { return http::async_read(s, buffer, response, use_nothrow); });
    }
    if (write_ec || read_ec) {
      last_error = "etcd at " + endpoint + " failed: " + (write_ec ? write_ec : read_ec).message();
      continue;
    }
    preferred_ = which;
    beast::error_code ignored;
    stream.tcp().socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
    if (response.result() != http::status::ok) {
      co_return Result<json::object>::failure(Status::internal, http_error(response.result_int(), response.body()));
    }
    auto object = parse_object(response.body());
    if (!object) co_return Result<json::object>::failure(Status::internal, "etcd sent malformed JSON");
    co_return Result<json::object>{Status::ok, {}, std::move(*object)};
  }
  co_return Result<json::object>::failure(Status::unavailable, last_error);
}

asio::awaitable<Result<bool>> EtcdHttp::stream(std::string path, json::object body,
                                               std::function<bool(const json::object&)> on_message,
                                               std::shared_ptr<StreamCancel> cancel) {
  const std::string endpoint = endpoints_[preferred_];
  auto fail = [&](std::string why) {
    preferred_ = (preferred_ + 1) % endpoints_.size();  // try another member next time
    return Result<bool>::failure(Status::unavailable, "etcd watch on " + endpoint + ": " + why);
  };
  EtcdStream stream(executor_, *tls_);
  cancel->abort = [&stream] { stream.abort(); };
  struct Reset {
    std::shared_ptr<StreamCancel> cancel;
    ~Reset() { cancel->abort = nullptr; }
  } reset{cancel};
  if (cancel->cancelled) co_return Result<bool>{Status::cancelled, "stopped", false};

  stream.tcp().expires_after(timeout_);
  if (auto ec = co_await stream.connect(endpoint)) co_return fail(describe(ec));
  auto request = make_request(endpoint, path, body);
  auto [write_ec, written] =
      co_await stream.with([&](auto& s) { return http::async_write(s, request, use_nothrow); });
  if (write_ec) co_return fail(write_ec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);  // an endless stream of messages
  auto [header_ec, header_bytes] =
      co_await stream.with([&](auto& s) { return http::async_read_header(s, buffer, parser, use_nothrow); });
  if (header_ec) co_return fail(header_ec.message());
  if (parser.get().result() != http::status::ok) co_return fail("HTTP " + std::to_string(parser.get().result_int()));
  stream.tcp().expires_never();  // a quiet watch is not a failure

  for (;;) {
    auto [ec, n] = co_await stream.with([&](auto& s) { return http::async_read_some(s, buffer, parser, use_nothrow); });
    if (cancel->cancelled) co_return Result<bool>{Status::cancelled, "stopped", false};
    if (ec) co_return fail(ec.message());
    // The gateway ends each message with a newline.
    std::string& text = parser.get().body();
    std::size_t start = 0;
    for (std::size_t newline; (newline = text.find('\n', start)) != std::string::npos; start = newline + 1) {
      auto message = parse_object(std::string_view(text).substr(start, newline - start));
      if (!message) co_return fail("malformed message");
      if (!on_message(*message)) co_return Result<bool>{Status::ok, {}, true};
    }
    text.erase(0, start);
    if (parser.is_done()) co_return fail("stream ended");
  }
}

}  // namespace routing::discovery
