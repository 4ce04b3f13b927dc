#include "common/json_args.h"

#include <boost/json/parse.hpp>

namespace routing::common {
namespace json = boost::json;

JsonArgs::JsonArgs(std::string_view payload) {
  boost::system::error_code ec;
  json::value value = json::parse(payload, ec);
  if (ec) {
    fail("invalid JSON: " + ec.message());
  } else if (!value.is_object()) {
    fail("arguments must be a JSON object");
  } else {
    object_ = std::move(value.as_object());
  }
}

void JsonArgs::fail(std::string message) {
  if (error_.empty()) error_ = std::move(message);
}

const json::value* JsonArgs::find(std::string_view key) const {
  if (!ok()) return nullptr;
  auto it = object_.find(key);
  return it == object_.end() ? nullptr : &it->value();
}

std::string JsonArgs::required_string(std::string_view key) {
  const json::value* value = find(key);
  if (value == nullptr) {
    fail("missing field \"" + std::string(key) + "\"");
    return {};
  }
  if (!value->is_string()) {
    fail("field \"" + std::string(key) + "\" must be a string");
    return {};
  }
  return std::string(value->get_string());
}

std::optional<std::string> JsonArgs::optional_string(std::string_view key) {
  if (find(key) == nullptr) return std::nullopt;
  return required_string(key);
}

std::optional<std::int64_t> JsonArgs::optional_integer(std::string_view key, std::int64_t min,
                                                       std::int64_t max) {
  const json::value* value = find(key);
  if (value == nullptr) return std::nullopt;
  std::int64_t number = 0;
  if (value->is_int64()) {
    number = value->get_int64();
  } else if (value->is_uint64() && value->get_uint64() <= static_cast<std::uint64_t>(INT64_MAX)) {
    number = static_cast<std::int64_t>(value->get_uint64());
  } else if (value->is_uint64()) {
    number = INT64_MAX;  // out of any range we accept
  } else {
    fail("field \"" + std::string(key) + "\" must be an integer");
    return std::nullopt;
  }
  if (number < min || number > max) {
    fail("field \"" + std::string(key) + "\" must be in " + std::to_string(min) + ".." +
         std::to_string(max));
    return std::nullopt;
  }
  return number;
}

std::optional<bool> JsonArgs::optional_bool(std::string_view key) {
  const json::value* value = find(key);
  if (value == nullptr) return std::nullopt;
  if (!value->is_bool()) {
    fail("field \"" + std::string(key) + "\" must be true or false");
    return std::nullopt;
  }
  return value->get_bool();
}

const json::array* JsonArgs::optional_array(std::string_view key) {
  const json::value* value = find(key);
  if (value == nullptr) return nullptr;
  if (!value->is_array()) {
    fail("field \"" + std::string(key) + "\" must be an array");
    return nullptr;
  }
  return &value->get_array();
}

const json::object* JsonArgs::optional_object(std::string_view key) {
  const json::value* value = find(key);
  if (value == nullptr) return nullptr;
  if (!value->is_object()) {
    fail("field \"" + std::string(key) + "\" must be an object");
    return nullptr;
  }
  return &value->get_object();
}

}  // namespace routing::common
