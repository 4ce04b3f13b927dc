#include "bench_stream.h"

#include "rpc/address.h"
#include "rpc/host_port.h"

#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include <stdexcept>

namespace routing::bench {

BenchStream::BenchStream(const std::string& address, const std::shared_ptr<const rpc::tls::Context>& tls) {
  auto endpoint = rpc::resolve_endpoint(address);
  fd_ = ::socket(endpoint.protocol().family(), SOCK_STREAM, 0);
  if (fd_ < 0 || ::connect(fd_, endpoint.data(), endpoint.size()) != 0) {
    if (fd_ >= 0) ::close(fd_);
    throw std::runtime_error("cannot connect to " + address);
  }
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  timeval timeout{.tv_sec = 10, .tv_usec = 0};
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
  if (!tls) return;
  auto host = rpc::parse_host_port(address);
  tls_ = std::make_unique<rpc::tls::Session>(tls, fd_, host ? host->host : address);
  if (tls_->handshake().io != rpc::tls::Io::done) {  // a blocking socket: done or failed
    std::string why = tls_->failure();
    tls_.reset();
    ::close(fd_);
    throw std::runtime_error("TLS handshake with " + address + " failed: " + why);
  }
}

BenchStream::~BenchStream() {
  tls_.reset();
  ::close(fd_);
}

bool BenchStream::send_all(std::string_view bytes) {
  std::size_t sent = 0;
  while (sent < bytes.size()) {
    if (tls_) {
      auto result = tls_->write(bytes.data() + sent, bytes.size() - sent);
      if (result.io != rpc::tls::Io::done) return false;
      sent += result.bytes;
      continue;
    }
    ssize_t n = ::send(fd_, bytes.data() + sent, bytes.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) return false;
    sent += static_cast<std::size_t>(n);
  }
  return true;
}

long BenchStream::receive(char* data, std::size_t size) {
  if (!tls_) return static_cast<long>(::recv(fd_, data, size, 0));
  auto result = tls_->read(data, size);
  if (result.io == rpc::tls::Io::done) return static_cast<long>(result.bytes);
  return result.io == rpc::tls::Io::closed ? 0 : -1;
}

}  // namespace routing::bench
