#pragma once
// Starts one of the project's programs as a child process for integration
// tests, waits for its "listening on HOST:PORT" log line, and stops it by pid.
// Its stderr goes to a temporary file (never a pipe that could fill and block).
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <sys/types.h>
#include <vector>

namespace routing::test {

class Process {
 public:
  // `env`: extra NAME=value variables for the child.
  Process(std::string program, std::vector<std::string> args, std::vector<std::string> env = {});
  ~Process();  // SIGKILLs and reaps the child if it still runs
  Process(const Process&) = delete;

  // Port from the "listening on" line, waiting up to `timeout`.
  std::optional<std::uint16_t> wait_listening(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  // Waits until the log matches `pattern` (ECMAScript regex).
  bool wait_for_log(const std::string& pattern, std::chrono::milliseconds timeout = std::chrono::seconds(10));
  void signal(int signo);
  // Waits for exit; the exit status (or 128+signal), nullopt on timeout.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout = std::chrono::seconds(10));
  std::string log() const;
  pid_t pid() const { return pid_; }

 private:
  pid_t pid_ = -1;
  std::string log_path_;
  std::optional<int> exit_code_;
};

// A fresh file /tmp/routing-test-XXXXXX<suffix> holding `content` (a config
// file, a token); the caller removes it.
std::string temp_file(const std::string& content, const std::string& suffix = "");

// Runs a program to completion and returns {exit code, stdout, stderr}.
struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};
// `env`: extra "NAME=value" variables.
RunResult run_program(const std::string& program, const std::vector<std::string>& args,
                      const std::vector<std::string>& env = {});

}  // namespace routing::test
