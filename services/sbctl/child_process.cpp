#include "child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace sb::ctl {

namespace {

std::string resolve(const std::string& program, const std::string& bin_dir) {
  if (program.find('/') != std::string::npos) return program;
  std::string local = bin_dir + "/" + program;
  if (!bin_dir.empty() && access(local.c_str(), X_OK) == 0) return local;
  const char* path = std::getenv("PATH");
  std::string dirs = path ? path : "/usr/bin:/bin";
  size_t start = 0;
  while (start <= dirs.size()) {
    size_t end = dirs.find(':', start);
    if (end == std::string::npos) end = dirs.size();
    std::string candidate = dirs.substr(start, end - start) + "/" + program;
    if (end > start && access(candidate.c_str(), X_OK) == 0) return candidate;
    start = end + 1;
  }
  return {};
}

}  // namespace

std::optional<Child> spawnChild(const ChildSpec& spec, const std::string& bin_dir,
                                std::string& error) {
  std::string path = resolve(spec.program, bin_dir);
  if (path.empty()) {
    error = "program '" + spec.program + "' not found in " + bin_dir + " nor on PATH";
    return std::nullopt;
  }
  int out[2];
  int ready[2] = {-1, -1};
  if (pipe2(out, O_CLOEXEC) != 0 || (spec.ready_fd && pipe2(ready, O_CLOEXEC) != 0)) {
    error = std::string("pipe: ") + std::strerror(errno);
    return std::nullopt;
  }
  // Everything the child needs is built before fork: only async-signal-safe calls after it.
  std::vector<std::string> argv_s{path};
  argv_s.insert(argv_s.end(), spec.args.begin(), spec.args.end());
  if (spec.ready_fd) {
    argv_s.emplace_back("--ready-fd");
    argv_s.emplace_back("3");
  }
  std::vector<char*> argv;
  argv.reserve(argv_s.size() + 1);
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> env_map;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    size_t eq = kv.find('=');
    if (eq != std::string::npos) env_map[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& [k, v] : spec.env) env_map[k] = v;
  std::vector<std::string> env_s;
  env_s.reserve(env_map.size());
  for (const auto& [k, v] : env_map)
    env_s.push_back(k + '=' + v);  // NOLINT(performance-inefficient-string-concatenation)
  std::vector<char*> envp;
  envp.reserve(env_s.size() + 1);
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);

  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0) {
    error = std::string("fork: ") + std::strerror(errno);
    return std::nullopt;
  }
  if (pid == 0) {
    setpgid(0, 0);
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent) _exit(127);  // the supervisor died before prctl
    int devnull = open("/dev/null", O_RDONLY);
    dup2(devnull, 0);
    dup2(out[1], 1);
    dup2(out[1], 2);
    if (spec.ready_fd) dup2(ready[1], 3);
    close_range(spec.ready_fd ? 4 : 3, ~0U, 0);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    signal(SIGPIPE, SIG_DFL);
    execve(path.c_str(), argv.data(), envp.data());
    _exit(127);
  }
  setpgid(pid, pid);  // (also from here: no race with a kill of the group right after fork)
  close(out[1]);
  if (spec.ready_fd) close(ready[1]);
  Child c;
  c.pid = pid;
  c.pidfd = static_cast<int>(syscall(SYS_pidfd_open, pid, 0));
  c.output = out[0];
  c.ready = ready[0];
  fcntl(c.output, F_SETFL, O_NONBLOCK);
  if (c.ready >= 0) fcntl(c.ready, F_SETFL, O_NONBLOCK);
  return c;
}

std::string describeExit(int status) {
  if (WIFEXITED(status)) return "exit " + std::to_string(WEXITSTATUS(status));
  if (WIFSIGNALED(status)) {
    return "signal " + std::to_string(WTERMSIG(status)) + " (" + strsignal(WTERMSIG(status)) + ")";
  }
  return "status " + std::to_string(status);
}

}  // namespace sb::ctl
