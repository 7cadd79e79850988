#include "sb/core/signals.h"

#include <signal.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <stdexcept>

namespace sb {
namespace {

sigset_t setOf(std::initializer_list<int> signals) {
  sigset_t set;
  sigemptyset(&set);
  for (int s : signals) sigaddset(&set, s);
  return set;
}

LoopHandle deliver(EventLoop& loop, const sigset_t& set, std::function<void(int)> on_signal) {
  int fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
  if (fd < 0) throw std::runtime_error("signalfd failed");
  return loop.addFd(fd, ZMQ_POLLIN, [fd, on_signal = std::move(on_signal)](short) {
    signalfd_siginfo info;
    while (read(fd, &info, sizeof(info)) == static_cast<ssize_t>(sizeof(info))) {
      on_signal(static_cast<int>(info.ssi_signo));
    }
  });
}

}  // namespace

void setUpProcessSignals() {
  sigset_t set = setOf({SIGTERM, SIGINT, SIGHUP});
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  struct sigaction ignore {};
  ignore.sa_handler = SIG_IGN;
  sigemptyset(&ignore.sa_mask);
  sigaction(SIGPIPE, &ignore, nullptr);
}

LoopHandle onTerminationSignal(EventLoop& loop, std::function<void(int)> on_signal) {
  return deliver(loop, setOf({SIGTERM, SIGINT}), std::move(on_signal));
}

LoopHandle onReloadSignal(EventLoop& loop, std::function<void()> on_reload) {
  return deliver(loop, setOf({SIGHUP}), [on_reload = std::move(on_reload)](int) { on_reload(); });
}

}  // namespace sb
