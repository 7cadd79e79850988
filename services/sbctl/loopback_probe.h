#pragma once

#include <string>

namespace sb::ctl {

// Short blocking probes of processes on 127.0.0.1, for `sbctl up` and `sbctl ps`.

// GET /readyz on PORT: "ready", "not ready (HTTP 503)" or "no answer" (1 s timeouts).
std::string probeReadyz(int port);
// PING to a redis-server on PORT: true on +PONG (200 ms timeouts).
bool redisAnswers(int port);

}  // namespace sb::ctl
