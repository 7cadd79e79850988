#pragma once

#include <string>

namespace sb::ctl {

// GET http://127.0.0.1:PORT/readyz with a short timeout: "ready", "not ready (HTTP 503)" or
// "no answer". For `sbctl ps`.
std::string probeReadyz(int port);

}  // namespace sb::ctl
