#pragma once
// A real etcd (Debian's etcd-server) on free loopback ports with a temporary
// data dir, for tests of the etcd:// backend. It can be killed and started
// again on the same ports and data (as a supervisor would restart it).
#include "support/ports.h"
#include "support/process.h"
#include "support/raw_socket.h"

#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>

namespace routing::test {

// etcd's client TLS (etcds://): its certificate, and with `client_ca` it
// asks clients for certificates signed by that CA.
struct EtcdTlsFiles {
  std::string cert, key, client_ca;
};

class Etcd {
 public:
  explicit Etcd(std::optional<EtcdTlsFiles> tls = std::nullopt) : peer_port_(free_port()), tls_(std::move(tls)) {
    char pattern[] = "/tmp/routing-etcd-XXXXXX";
    dir_ = ::mkdtemp(pattern);
    start();
  }
  ~Etcd() {
    process_.reset();
    std::filesystem::remove_all(dir_);
  }
  // Starts (again); true once it serves clients.
  bool start() {
    std::string client = (tls_ ? "https://127.0.0.1:" : "http://127.0.0.1:") + std::to_string(client_port_);
    std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
    std::vector<std::string> args{"--name", "test", "--data-dir", dir_ + "/data", "--listen-client-urls", client,
                                  "--advertise-client-urls", client, "--listen-peer-urls", peer,
                                  "--initial-advertise-peer-urls", peer, "--initial-cluster", "test=" + peer};
    if (tls_) {
      args.insert(args.end(), {"--cert-file", tls_->cert, "--key-file", tls_->key});
      if (!tls_->client_ca.empty()) args.insert(args.end(), {"--client-cert-auth", "--trusted-ca-file", tls_->client_ca});
    }
    process_ = std::make_unique<Process>("/usr/bin/etcd", args);
    ready_ = process_->wait_for_log("ready to serve client requests", std::chrono::seconds(20));
    return ready_;
  }
  void kill() {
    process_->signal(SIGKILL);
    process_->wait_exit();
  }
  bool ready() const { return ready_; }
  std::uint16_t port() const { return client_port_; }
  std::string endpoint() const { return "127.0.0.1:" + std::to_string(client_port_); }
  std::string url() const { return (tls_ ? "etcds://" : "etcd://") + endpoint(); }
  std::string log() const { return process_->log(); }
  // A sample without labels from etcd's /metrics (e.g.
  // "etcd_debugging_mvcc_watch_stream_total", its open watch streams), or
  // nothing if etcd does not answer or has no such metric.
  std::optional<double> metric(const std::string& name) const {
    RawSocket socket(client_port_, std::chrono::seconds(5));
    if (!socket.connected()) return std::nullopt;
    socket.send("GET /metrics HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n");
    std::string text = socket.read_all();
    auto at = text.find("\n" + name + " ");
    if (at == std::string::npos) return std::nullopt;
    return std::strtod(text.c_str() + at + name.size() + 2, nullptr);
  }

 private:
  std::string dir_;
  std::uint16_t client_port_ = free_port();
  std::uint16_t peer_port_;
  std::optional<EtcdTlsFiles> tls_;
  std::unique_ptr<Process> process_;
  bool ready_ = false;
};

}  // namespace routing::test
