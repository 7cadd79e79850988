#pragma once

#include <sys/types.h>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace sb::ctl {

struct ChildSpec {
  std::string program;  // a path, or a name looked up in `bin_dir` and then on PATH
  std::vector<std::string> args;
  std::map<std::string, std::string> env;  // added to (or replacing in) the inherited one
  bool ready_fd = false;                   // pass --ready-fd 3 and keep the pipe's read end
};

// A started child. It runs in a process group of its own (the terminal's Ctrl-C reaches the
// supervisor only, which stops the children in order) and is killed by the kernel if the
// supervisor dies, even by SIGKILL (PR_SET_PDEATHSIG). The descriptors are the caller's.
struct Child {
  pid_t pid = -1;
  int pidfd = -1;   // readable once the child exits
  int output = -1;  // the child's stdout and stderr
  int ready = -1;   // the readiness pipe (-1 without ready_fd)
};

// Forks and execs; nullopt and `error` when the program cannot be found or started.
std::optional<Child> spawnChild(const ChildSpec& spec, const std::string& bin_dir,
                                std::string& error);

// The wait status of an exited child as text: "exit 0", "exit 3", "signal 9 (Killed)".
std::string describeExit(int status);

}  // namespace sb::ctl
