#pragma once

#include <string>

#include "process.h"

namespace sb::bench {

// Debian's nginx, started by the benchmark as the peer to compare with: one worker process,
// a reverse proxy on a free loopback port to 127.0.0.1:upstream_port, HTTP/1.1 with a pool of
// kept-alive upstream connections, no buffering of the answer (as in front of an LLM), an
// access log written like ours. Stopped (SIGKILL) with the object.
class NginxPeer {
 public:
  explicit NginxPeer(int upstream_port);
  int port() const { return port_; }
  pid_t pid() const { return process_.pid(); }

 private:
  int port_ = 0;
  sb::test::Process process_;
};

// A free loopback port (bound and released: for peers that take a fixed port).
int freePort();
// Waits until 127.0.0.1:port accepts connections; throws after `seconds`.
void awaitListening(int port, int seconds);

}  // namespace sb::bench
