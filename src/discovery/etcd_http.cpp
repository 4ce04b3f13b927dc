#include "discovery/etcd_http.h"

#include "rpc/address.h"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
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

// Connects to one endpoint within the stream's current expiry.
asio::awaitable<boost::system::error_code> connect(beast::tcp_stream& stream, const std::string& endpoint) {
  asio::ip::tcp::endpoint target;
  try {
    target = rpc::resolve_endpoint(endpoint);
  } catch (const std::exception&) {
    co_return asio::error::host_not_found;
  }
  auto [ec] = co_await stream.async_connect(target, use_nothrow);
  co_return ec;
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
                   std::chrono::milliseconds timeout)
    : executor_(std::move(executor)), endpoints_(std::move(endpoints)), timeout_(timeout) {}

asio::awaitable<Result<json::object>> EtcdHttp::post(std::string path, json::object body) {
  std::string last_error;
  for (std::size_t attempt = 0; attempt < endpoints_.size(); ++attempt) {
    std::size_t which = (preferred_ + attempt) % endpoints_.size();
    const std::string& endpoint = endpoints_[which];
    beast::tcp_stream stream(executor_);
    stream.expires_after(timeout_);
    if (auto ec = co_await connect(stream, endpoint)) {
      last_error = "etcd at " + endpoint + " unreachable: " + ec.message();
      continue;
    }
    auto request = make_request(endpoint, path, body);
    auto [write_ec, written] = co_await http::async_write(stream, request, use_nothrow);
    beast::flat_buffer buffer;
    http::response<http::string_body> response;
    boost::system::error_code read_ec;
    if (!write_ec) std::tie(read_ec, std::ignore) = co_await http::async_read(stream, buffer, response, use_nothrow);
    if (write_ec || read_ec) {
      last_error = "etcd at " + endpoint + " failed: " + (write_ec ? write_ec : read_ec).message();
      continue;
    }
    preferred_ = which;
    beast::error_code ignored;
    stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ignored);
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
  beast::tcp_stream stream(executor_);
  cancel->abort = [&stream] { stream.cancel(); beast::error_code ignored; stream.socket().close(ignored); };
  struct Reset {
    std::shared_ptr<StreamCancel> cancel;
    ~Reset() { cancel->abort = nullptr; }
  } reset{cancel};
  if (cancel->cancelled) co_return Result<bool>{Status::cancelled, "stopped", false};

  stream.expires_after(timeout_);
  if (auto ec = co_await connect(stream, endpoint)) co_return fail(ec.message());
  auto request = make_request(endpoint, path, body);
  auto [write_ec, written] = co_await http::async_write(stream, request, use_nothrow);
  if (write_ec) co_return fail(write_ec.message());

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(boost::none);  // an endless stream of messages
  auto [header_ec, header_bytes] = co_await http::async_read_header(stream, buffer, parser, use_nothrow);
  if (header_ec) co_return fail(header_ec.message());
  if (parser.get().result() != http::status::ok) co_return fail("HTTP " + std::to_string(parser.get().result_int()));
  stream.expires_never();  // a quiet watch is not a failure

  for (;;) {
    auto [ec, n] = co_await http::async_read_some(stream, buffer, parser, use_nothrow);
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
