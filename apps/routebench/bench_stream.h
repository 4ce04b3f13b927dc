#pragma once
// routebench's client connection: a blocking socket, plain or TLS (--tls-ca),
// the cheapest client there is. A read waits at most 10 s, so a run is
// bounded even if the peer goes silent.
#include "rpc/tls/tls_session.h"

#include <memory>
#include <string>
#include <string_view>

namespace routing::bench {

class BenchStream {
 public:
  // Connects (and completes the TLS handshake when `tls` is set); throws
  // with the reason when it cannot.
  BenchStream(const std::string& address, const std::shared_ptr<const rpc::tls::Context>& tls);
  ~BenchStream();
  BenchStream(const BenchStream&) = delete;
  BenchStream& operator=(const BenchStream&) = delete;

  bool send_all(std::string_view bytes);
  // Bytes read into `data` (> 0); 0 when the peer closed, < 0 on an error or the timeout.
  long receive(char* data, std::size_t size);

 private:
  int fd_ = -1;
  std::unique_ptr<rpc::tls::Session> tls_;
};

}  // namespace routing::bench
