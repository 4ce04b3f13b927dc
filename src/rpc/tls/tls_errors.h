#pragma once
// OpenSSL's error queue as text. OpenSSL keeps errors per thread: clear the
// queue before a call whose failure is to be explained, read it after.
#include <string>

namespace routing::rpc::tls {

// The queued errors' reasons, oldest first, joined by "; " (the queue is emptied).
std::string last_error();
void clear_errors();

}  // namespace routing::rpc::tls
