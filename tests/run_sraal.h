// Runs the `sraal` binary of this build with arguments (through the shell) for the command-line
// tests, capturing stdout and stderr together.
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

inline CommandResult run_sraal(const std::string& args) {
  std::string cmd = std::string(SR_SRAAL_BIN) + " " + args + " 2>&1";
  FILE* p = popen(cmd.c_str(), "r");
  std::string out;
  std::array<char, 4096> buf{};
  while (size_t n = fread(buf.data(), 1, buf.size(), p)) out.append(buf.data(), n);
  int status = pclose(p);
  if (WIFEXITED(status)) return {WEXITSTATUS(status), out};
  if (WIFSIGNALED(status)) return {128 + WTERMSIG(status), out};
  return {-1, out};
}

}  // namespace sr::test
