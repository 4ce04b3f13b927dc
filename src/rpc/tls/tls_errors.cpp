#include "rpc/tls/tls_errors.h"

#include <openssl/err.h>

namespace routing::rpc::tls {

std::string last_error() {
  std::string text;
  while (unsigned long code = ERR_get_error()) {
    char reason[256];
    ERR_error_string_n(code, reason, sizeof(reason));
    if (!text.empty()) text += "; ";
    const char* short_reason = ERR_reason_error_string(code);
    text += short_reason != nullptr ? short_reason : reason;
  }
  return text;
}

void clear_errors() { ERR_clear_error(); }

}  // namespace routing::rpc::tls
