#pragma once
// The answer to a call: a status and a payload (the message, for errors).
#include <routing/status.h>

#include <string>
#include <utility>

namespace routing {

struct Reply {
  Status status = Status::ok;
  std::string payload;

  bool ok() const noexcept { return status == Status::ok; }

  static Reply success(std::string payload) { return {Status::ok, std::move(payload)}; }
  static Reply error(Status status, std::string message) { return {status, std::move(message)}; }
};

}  // namespace routing
