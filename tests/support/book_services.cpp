#include "support/book_services.h"

#include "book/normalization.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>

namespace routing::test {
namespace {

std::string trim(std::string text) {
  const auto first = text.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  const auto last = text.find_last_not_of(" \t\r\n");
  return text.substr(first, last - first + 1);
}

}  // namespace

BookServer::BookServer(Handler handler) : handler_(std::move(handler)) {
  listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(listener_, reinterpret_cast<sockaddr*>(&at), sizeof at);
  ::listen(listener_, 64);
  socklen_t length = sizeof at;
  ::getsockname(listener_, reinterpret_cast<sockaddr*>(&at), &length);
  port_ = ntohs(at.sin_port);
  acceptor_ = std::thread([this] { accept_loop(); });
}

BookServer::~BookServer() {
  stopping_ = true;
  ::shutdown(listener_, SHUT_RDWR);
  acceptor_.join();
  ::close(listener_);
  {
    std::lock_guard lock(mutex_);
    for (int fd : connections_) ::shutdown(fd, SHUT_RDWR);
  }
  for (auto& thread : threads_) thread.join();
}

void BookServer::accept_loop() {
  while (!stopping_) {
    int fd = ::accept4(listener_, nullptr, nullptr, SOCK_CLOEXEC);
    if (fd < 0) {
      if (stopping_) return;
      continue;
    }
    std::lock_guard lock(mutex_);
    connections_.push_back(fd);
    threads_.emplace_back([this, fd] { serve(fd); });
  }
}

// As the book's server: each read is one request (rpc/src/server.rs).
void BookServer::serve(int fd) {
  char buffer[1024];
  for (;;) {
    ssize_t n = ::recv(fd, buffer, sizeof buffer, 0);
    if (n <= 0) break;
    std::string request(buffer, static_cast<std::size_t>(n));
    auto colon = request.find(':');
    if (colon == std::string::npos) break;  // the book's server panics: the connection closes
    int procedure = 0;
    try {
      procedure = std::stoi(request.substr(0, colon));
    } catch (...) {
      break;
    }
    ++requests_;
    std::string answer = handler_(procedure, trim(request.substr(colon + 1)));
    if (::send(fd, answer.data(), answer.size(), MSG_NOSIGNAL) < 0) break;
  }
  std::lock_guard lock(mutex_);
  std::erase(connections_, fd);
  ::close(fd);
}

BookDiscoveryService::BookDiscoveryService(std::chrono::milliseconds expiry)
    : expiry_(expiry), server_([this](int procedure, const std::string& payload) { return answer(procedure, payload); }) {}

std::vector<std::string> BookDiscoveryService::listed(const std::string& name) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  std::erase_if(entries_, [&](const auto& entry) { return now - entry.second.last_ping > expiry_; });
  std::vector<std::string> addresses;
  for (const auto& [address, entry] : entries_) {
    if (entry.name == name) addresses.push_back(address);
  }
  return addresses;
}

std::string BookDiscoveryService::answer(int procedure, const std::string& payload) {
  const std::string name = book::string_field(payload, "name").value_or("");
  switch (procedure) {
    case 1: {  // REGISTER: a known address only has its time refreshed (even under another name)
      const std::string address = book::string_field(payload, "address").value_or("");
      std::lock_guard lock(mutex_);
      auto known = std::find_if(entries_.begin(), entries_.end(), [&](const auto& e) { return e.first == address; });
      if (known != entries_.end()) {
        known->second.last_ping = std::chrono::steady_clock::now();
      } else {
        entries_.push_back({address, Entry{name, std::chrono::steady_clock::now()}});
      }
      return "OK";
    }
    case 2: {
      auto addresses = listed(name);
      return book::Writer().string("address", addresses.empty() ? "" : addresses.front()).finish();
    }
    case 3: {
      std::string joined;
      for (const auto& address : listed(name)) joined += (joined.empty() ? "" : ";") + address;
      return book::Writer().string("addresses", joined).finish();
    }
    default: return "Unknown procedure";
  }
}

BookEcho::BookEcho()
    : server_([](int procedure, const std::string& payload) -> std::string {
        if (procedure != 1) return "Unknown procedure";
        return book::string_field(payload, "message").value_or("");
      }) {}

}  // namespace routing::test
