// custom_discovery: library mode with your own discovery. FixedMap is a
// routing::Resolver over a map given on the command line; a real one would
// ask Consul, Kubernetes or a file, and call the watchers when it changes.
//   custom_discovery SYSTEM=HOST:PORT[,HOST:PORT...] ...
//   custom_discovery echo=127.0.0.1:7001
#include <routing/discovery.h>
#include <routing/router.h>

#include <iostream>
#include <map>
#include <mutex>
#include <sstream>

namespace {

class FixedMap : public routing::Resolver {
 public:
  explicit FixedMap(std::map<std::string, std::vector<std::string>> map) : map_(std::move(map)) {}

  // Answers at once; a resolver that asks the network would answer later,
  // from its own thread, and never block here.
  void resolve(const std::string& name, Done done) override {
    routing::Resolution answer;
    {
      std::lock_guard lock(mutex_);
      if (auto it = map_.find(name); it != map_.end()) answer.addresses = it->second;
    }
    done(std::move(answer));
  }

  // A fixed map never changes, so the watch has nothing to call; it still
  // must stay valid until the router drops it.
  std::unique_ptr<routing::ResolverWatch> watch(const std::string&, OnChange) override {
    return std::make_unique<routing::ResolverWatch>();
  }

 private:
  std::mutex mutex_;
  std::map<std::string, std::vector<std::string>> map_;
};

// "echo=127.0.0.1:7001,127.0.0.1:7002" -> {"echo", {...}}
bool parse(const std::string& arg, std::map<std::string, std::vector<std::string>>& map) {
  auto equals = arg.find('=');
  if (equals == std::string::npos || equals == 0) return false;
  std::stringstream addresses(arg.substr(equals + 1));
  for (std::string address; std::getline(addresses, address, ',');) map[arg.substr(0, equals)].push_back(address);
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  std::map<std::string, std::vector<std::string>> map;
  for (int i = 1; i < argc; ++i) {
    if (!parse(argv[i], map)) {
      std::cerr << "usage: custom_discovery SYSTEM=HOST:PORT[,HOST:PORT...] ...\n";
      return 2;
    }
  }
  if (map.empty()) {
    std::cerr << "usage: custom_discovery SYSTEM=HOST:PORT[,HOST:PORT...] ...\n";
    return 2;
  }
  routing::Router router(routing::RouterOptions{.resolver = std::make_shared<FixedMap>(map)});
  int failures = 0;
  for (const auto& [system, addresses] : map) {
    routing::Reply reply = router.call(system, 3, "");  // WHOAMI: which backend answered
    if (reply.ok()) {
      std::cout << system << ": served by " << reply.payload << "\n";
    } else {
      std::cout << system << ": " << routing::status_name(reply.status) << ": " << reply.payload << "\n";
      ++failures;
    }
  }
  return failures == 0 ? 0 : 1;
}
