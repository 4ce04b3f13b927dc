#include "support/process.h"

#include <gtest/gtest.h>

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <thread>

namespace routing::test {
namespace {

// A fresh temporary file named /tmp/routing-test-XXXXXX<suffix>.
std::string temp_path(const std::string& suffix) {
  std::string path = "/tmp/routing-test-XXXXXX" + suffix;
  int fd = ::mkstemps(path.data(), static_cast<int>(suffix.size()));
  if (fd < 0) throw std::runtime_error("mkstemps failed");
  ::close(fd);
  return path;
}

std::string read_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream content;
  content << in.rdbuf();
  return content.str();
}

// Everything the child needs is built before fork(): the test process has
// threads, and a child of a threaded process may only make async-signal-safe
// calls until it execs. An allocation there can deadlock the child forever
// on a lock another thread held at the fork (under ASan, its allocator's),
// which showed as a server that never started.
pid_t spawn(const std::string& program, const std::vector<std::string>& args,
            const std::string& out_path, const std::string& err_path, const std::vector<std::string>& env = {}) {
  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (auto& arg : args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  std::vector<char*> envp;  // the test's environment, `env` replacing what it names
  auto replaced = [&](std::string_view variable) {
    for (const auto& set : env) {
      auto name = std::string_view(set).substr(0, set.find('=') + 1);
      if (variable.starts_with(name)) return true;
    }
    return false;
  };
  for (char** variable = environ; *variable != nullptr; ++variable) {
    if (!replaced(*variable)) envp.push_back(*variable);
  }
  for (const auto& variable : env) envp.push_back(const_cast<char*>(variable.c_str()));
  envp.push_back(nullptr);
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  int out = ::open(out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int err = ::open(err_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  int null_in = ::open("/dev/null", O_RDONLY);
  ::dup2(null_in, 0);
  ::dup2(out, 1);
  ::dup2(err, 2);
  ::execve(program.c_str(), argv.data(), envp.data());
  ::_exit(127);
}

int decode_status(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

std::string temp_file(const std::string& content, const std::string& suffix) {
  std::string path = temp_path(suffix);
  std::ofstream(path, std::ios::binary) << content;
  return path;
}

Process::Process(std::string program, std::vector<std::string> args, std::vector<std::string> env) {
  log_path_ = temp_path(".log");
  pid_ = spawn(program, args, "/dev/null", log_path_, env);
}

Process::~Process() {
  if (!exit_code_ && pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status = 0;
    ::waitpid(pid_, &status, 0);
  }
  // Under sanitizers the child is instrumented too: its reports fail the test
  // that ran it, even when the test itself did not notice anything wrong.
  std::string text = log();
  for (const char* report : {"ERROR: AddressSanitizer", "ERROR: LeakSanitizer", "WARNING: ThreadSanitizer",
                             "runtime error:"}) {
    if (auto at = text.find(report); at != std::string::npos) {
      ADD_FAILURE() << "sanitizer report in a child process:\n" << text.substr(at > 200 ? at - 200 : 0, 6000);
      break;
    }
  }
  ::unlink(log_path_.c_str());
}

std::optional<std::uint16_t> Process::wait_listening(std::chrono::milliseconds timeout) {
  static const std::regex listening(R"(listening on [^ \n]*:(\d+))");
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::smatch match;
    std::string text = log();
    if (std::regex_search(text, match, listening)) {
      return static_cast<std::uint16_t>(std::stoi(match[1]));
    }
    if (wait_exit(std::chrono::milliseconds(0))) return std::nullopt;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return std::nullopt;
}

bool Process::wait_for_log(const std::string& pattern, std::chrono::milliseconds timeout) {
  const std::regex wanted(pattern);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    std::string text = log();
    if (std::regex_search(text, wanted)) return true;
    if (wait_exit(std::chrono::milliseconds(0))) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return false;
}

void Process::signal(int signo) {
  if (!exit_code_) ::kill(pid_, signo);
}

std::optional<int> Process::wait_exit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (!exit_code_) {
    int status = 0;
    pid_t done = ::waitpid(pid_, &status, WNOHANG);
    if (done == pid_) {
      exit_code_ = decode_status(status);
      break;
    }
    if (std::chrono::steady_clock::now() >= deadline) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  return exit_code_;
}

std::string Process::log() const { return read_file(log_path_); }

RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const std::vector<std::string>& env) {
  std::string out_path = temp_path(".out");
  std::string err_path = temp_path(".err");
  pid_t pid = spawn(program, args, out_path, err_path, env);
  int status = 0;
  ::waitpid(pid, &status, 0);
  RunResult result{decode_status(status), read_file(out_path), read_file(err_path)};
  ::unlink(out_path.c_str());
  ::unlink(err_path.c_str());
  return result;
}

}  // namespace routing::test
