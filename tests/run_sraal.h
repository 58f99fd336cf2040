// Runs the `sraal` binary of this build with arguments (through the shell) for the command-line
// tests, or any command line, capturing stdout and stderr together.
#pragma once

#include <sys/wait.h>

#include <array>
#include <cstdio>
#include <string>

namespace sr::test {

struct CommandResult {
  int code;  // exit code; 128 + signal when the process was killed by a signal
  std::string output;
};

// Runs a shell command line, stdout and stderr together.
inline CommandResult run_command(const std::string& command) {
  std::string cmd = command + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = pclose(p);
  if (WIFEXITED(status)) return {WEXITSTATUS(status), out};
  if (WIFSIGNALED(status)) return {128 + WTERMSIG(status), out};
  return {-1, out};
}

inline CommandResult run_sraal(const std::string& args) {
  return run_command(std::string(SR_SRAAL_BIN) + " " + args);
}

}  // namespace sr::test
