#pragma once
// Reads the JSON object of a procedure's arguments with strict types. The
// first problem found is kept as a readable message (for a status 3 answer);
// later reads after an error return empty values and change nothing.
#include <boost/json/object.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace routing::common {

class JsonArgs {
 public:
  // Parses `payload`; anything but a JSON object is an error.
  explicit JsonArgs(std::string_view payload);

  bool ok() const noexcept { return error_.empty(); }
  const std::string& error() const noexcept { return error_; }

  // A string field; missing or not a string is an error.
  std::string required_string(std::string_view key);
  // nullopt when absent; present but not a string is an error.
  std::optional<std::string> optional_string(std::string_view key);
  // An integer field in [min, max]; absent gives nullopt, anything else an error.
  std::optional<std::int64_t> optional_integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<bool> optional_bool(std::string_view key);
  // An array field; absent gives nullptr, anything but an array an error
  // (and nullptr). Valid while this object lives.
  const boost::json::array* optional_array(std::string_view key);
  // An object field, the same way.
  const boost::json::object* optional_object(std::string_view key);
  bool has(std::string_view key) const { return object_.contains(key); }

  // Records a validation failure of the caller's own (first one wins).
  void fail(std::string message);

 private:
  const boost::json::value* find(std::string_view key) const;

  boost::json::object object_;
  std::string error_;
};

}  // namespace routing::common
