// routerd's status page (GET / on the admin listener) in a real browser:
// headless Chromium loads it, runs its script (which re-renders from
// GET /status) and dumps the DOM. Real discoveryd, echod and routerd.
// Chromium is required: CI installs it (scripts/setup.sh), so its absence
// fails these tests rather than skipping them.
#include <routing/proxy_client.h>

#include "support/admin_http.h"
#include "support/eventually.h"
#include "support/process.h"
#include "support/raw_socket.h"

#include <gtest/gtest.h>

#include <csignal>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <regex>
#include <sstream>
#include <thread>

namespace routing::test {
namespace {

using namespace std::chrono_literals;
namespace fs = std::filesystem;

constexpr const char* chromium_path = "/usr/bin/chromium";
const std::string evil_name = "<img src=x onerror=alert(1)>";

std::string read_text(const fs::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream text;
  text << in.rdbuf();
  return text.str();
}

// One headless Chromium run that dumps a page's DOM. Chromium starts helper
// processes (zygote, renderer, GPU); they share its process group, which is
// SIGKILLed on every way out, with the temporary profile removed.
class ChromiumDump {
 public:
  explicit ChromiumDump(const std::string& url) {
    char dir[] = "/tmp/routing-chromium-XXXXXX";
    if (::mkdtemp(dir) == nullptr) throw std::runtime_error("mkdtemp failed");
    dir_ = dir;
    const fs::path out = dir_ / "dom.html", err = dir_ / "stderr.txt";
    std::vector<std::string> args{chromium_path, "--headless", "--no-sandbox", "--disable-gpu",
                                  "--no-first-run", "--user-data-dir=" + (dir_ / "profile").string(),
                                  "--virtual-time-budget=5000", "--dump-dom", url};
    // Built before fork(): between fork and exec a child of a threaded
    // process must not allocate (support/process.cpp says why).
    std::vector<char*> argv;
    for (auto& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::setpgid(0, 0);
      int o = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      int e = ::open(err.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
      ::dup2(o, 1);
      ::dup2(e, 2);
      ::execv(chromium_path, argv.data());
      ::_exit(127);
    }
    ::setpgid(pid_, pid_);  // also here: no race with the child's own call
    // Bounded: a hung browser fails the test instead of hanging it.
    auto deadline = std::chrono::steady_clock::now() + 30s;
    int status = 0;
    while (::waitpid(pid_, &status, WNOHANG) == 0) {
      if (std::chrono::steady_clock::now() > deadline) {
        stop();
        throw std::runtime_error("chromium did not finish within 30 s: " + read_text(err));
      }
      std::this_thread::sleep_for(20ms);
    }
    reaped_ = true;
    exit_code_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    dom_ = read_text(out);
    stderr_ = read_text(err);
  }
  ~ChromiumDump() { stop(); }
  ChromiumDump(const ChromiumDump&) = delete;

  const std::string& dom() const { return dom_; }
  int exit_code() const { return exit_code_; }
  std::string stderr_tail() const { return stderr_.substr(stderr_.size() > 3000 ? stderr_.size() - 3000 : 0); }

 private:
  void stop() {
    if (pid_ > 0) {
      ::kill(-pid_, SIGKILL);  // the whole group: helpers outliving the browser too
      if (!reaped_) ::waitpid(pid_, nullptr, 0);
      reaped_ = true;
    }
    std::error_code ignored;
    fs::remove_all(dir_, ignored);
  }

  fs::path dir_;
  pid_t pid_ = -1;
  bool reaped_ = false;
  int exit_code_ = -1;
  std::string dom_, stderr_;
};

// The dumped DOM of `url`; fails the test when Chromium is missing or fails.
std::string dump_dom(const std::string& url) {
  if (!fs::exists(chromium_path)) {
    ADD_FAILURE() << chromium_path << " is missing: install it with scripts/setup.sh (apt-get install chromium)";
    return {};
  }
  ChromiumDump dump(url);
  EXPECT_EQ(dump.exit_code(), 0) << dump.stderr_tail();
  EXPECT_FALSE(dump.dom().empty()) << dump.stderr_tail();
  return dump.dom();
}

std::uint16_t admin_port_of(Process& routerd) {
  EXPECT_TRUE(routerd.wait_for_log(R"(admin endpoint on http://[^ \n]*:\d+)")) << routerd.log();
  return admin_port_in(routerd.log()).value_or(0);
}

// discoveryd, echods serving "echo" (and any other names), and routerd.
class Cluster {
 public:
  explicit Cluster(std::vector<std::string> echod_names) {
    discoveryd_ = std::make_unique<Process>(DISCOVERYD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0"});
    std::string discovery = "rpc://127.0.0.1:" + std::to_string(discoveryd_->wait_listening().value_or(0));
    for (const auto& name : echod_names) {
      // A long lease: a killed echod stays registered, so the page must show
      // it unhealthy rather than see it vanish.
      echods_.push_back(std::make_unique<Process>(
          ECHOD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0", "--discovery", discovery, "--name", name,
                                               "--ttl-ms", "60000"}));
      EXPECT_TRUE(echods_.back()->wait_for_log("registered")) << echods_.back()->log();
      addresses_.push_back("127.0.0.1:" + std::to_string(echods_.back()->wait_listening().value_or(0)));
    }
    routerd_ = std::make_unique<Process>(
        ROUTERD_PATH, std::vector<std::string>{"--listen", "127.0.0.1:0", "--admin", "127.0.0.1:0", "--discovery",
                                               discovery, "--health-check-interval-ms", "100"});
    address_ = "127.0.0.1:" + std::to_string(routerd_->wait_listening().value_or(0));
    admin_port_ = admin_port_of(*routerd_);
  }
  const std::string& address() const { return address_; }
  const std::string& echod_address(std::size_t i) const { return addresses_[i]; }
  Process& echod(std::size_t i) { return *echods_[i]; }
  std::string page_url() const { return "http://127.0.0.1:" + std::to_string(admin_port_) + "/"; }
  std::string http_get(const std::string& path) { return admin_get(admin_port_, path); }

 private:
  std::unique_ptr<Process> discoveryd_;
  std::vector<std::unique_ptr<Process>> echods_;
  std::vector<std::string> addresses_;
  std::unique_ptr<Process> routerd_;
  std::string address_;
  std::uint16_t admin_port_ = 0;
};

// The row of `address` in a backends table: health, zone, latency, calls.
struct Row {
  bool found = false;
  std::string health, zone;
  long calls = -1;
};
Row row_of(const std::string& dom, const std::string& address) {
  std::smatch match;
  std::regex row("<td>" + std::regex_replace(address, std::regex(R"(\.)"), R"(\.)") +
                 R"(</td><td class="\w+">([^<]*)</td><td>([^<]*)</td><td>[^<]*</td><td>(\d+)</td>)");
  if (!std::regex_search(dom, match, row)) return {};
  return {true, match[1], match[2], std::stol(match[3])};
}

#define ASSERT_CHROMIUM_INSTALLED() \
  ASSERT_TRUE(fs::exists(chromium_path)) << chromium_path << " is missing: run scripts/setup.sh (apt-get install chromium)"

TEST(StatusPageBrowser, ShowsSystemsBackendsAndCallsAndEscapesNames) {
  ASSERT_CHROMIUM_INSTALLED();
  Cluster cluster({"echo", "echo", evil_name});
  ProxyClient proxy(cluster.address());
  for (int i = 0; i < 20; ++i) ASSERT_TRUE(proxy.call("echo", 1, "x").ok());
  ASSERT_TRUE(proxy.call(evil_name, 1, "x").ok());
  EXPECT_EQ(proxy.call("ghost", 1, "x").status, Status::not_found);

  std::string dom = dump_dom(cluster.page_url());
  // The script ran: it fetched /status and rendered the figures itself.
  EXPECT_NE(dom.find("(refreshing every 2 s)"), std::string::npos) << dom;
  EXPECT_NE(dom.find(R"(<p id="error" class="error" hidden="">)"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<h2>echo</h2>"), std::string::npos) << dom;
  for (std::size_t i = 0; i < 2; ++i) {
    Row row = row_of(dom, cluster.echod_address(i));
    ASSERT_TRUE(row.found) << cluster.echod_address(i) << "\n" << dom;
    EXPECT_EQ(row.health, "healthy");
    EXPECT_EQ(row.zone, "\u2014");  // no zones yet
    EXPECT_GT(row.calls, 0);
  }
  EXPECT_NE(dom.find("<dt>calls</dt><dd>20</dd>"), std::string::npos) << dom;  // the system "echo"
  // The malicious name is text: escaped in the serialized DOM, never an element.
  EXPECT_NE(dom.find("<h2>&lt;img src=x onerror=alert(1)&gt;</h2>"), std::string::npos) << dom;
  EXPECT_EQ(dom.find("<img"), std::string::npos) << dom;
  // A name discovery does not know (answered 5) is no system of its own.
  EXPECT_EQ(dom.find("ghost"), std::string::npos);

  // A killed backend: health checks fail (every 100 ms) and the page says so.
  cluster.echod(0).signal(SIGKILL);
  std::string later;
  EXPECT_TRUE(eventually(
      [&] {
        later = dump_dom(cluster.page_url());
        Row row = row_of(later, cluster.echod_address(0));
        return row.found && (row.health.starts_with("failing health checks") || row.health.starts_with("ejected"));
      },
      20s))
      << later;
  EXPECT_EQ(row_of(later, cluster.echod_address(1)).health, "healthy") << later;
}

// Without routerd behind it the script cannot fetch /status: it says so on
// the page and keeps the figures it has (here the server-rendered ones).
TEST(StatusPageBrowser, ShowsAVisibleErrorWhenStatusCannotBeFetched) {
  ASSERT_CHROMIUM_INSTALLED();
  std::string body;
  {
    Cluster cluster({"echo"});
    ASSERT_TRUE(ProxyClient(cluster.address()).call("echo", 1, "x").ok());  // a system exists once called
    std::string response = cluster.http_get("/");
    ASSERT_NE(response.find("200 OK"), std::string::npos) << response;
    body = response.substr(response.find("\r\n\r\n") + 4);
  }
  // From a file, fetch("/status") has no server to go to.
  char path[] = "/tmp/routing-status-page-XXXXXX.html";
  int fd = ::mkstemps(path, 5);
  ASSERT_GE(fd, 0);
  ::close(fd);
  std::ofstream(path) << body;
  std::string dom = dump_dom(std::string("file://") + path);
  ::unlink(path);
  EXPECT_NE(dom.find(R"(<p id="error" class="error">cannot fetch /status: )"), std::string::npos) << dom;
  EXPECT_NE(dom.find("<h2>echo</h2>"), std::string::npos) << dom;
}

}  // namespace
}  // namespace routing::test
