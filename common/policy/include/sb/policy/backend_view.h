#pragma once

#include <cstdint>
#include <string>

namespace sb {

// One backend (an LLM or embedding server) as a worker sees it, for readiness and status.
struct BackendView {
  std::string name;
  uint32_t inflight = 0;
  uint32_t max_conns = 0;
  bool cooling_down = false;   // passive health: too many recent failures
  bool probe_failing = false;  // active health: its last probe failed
  bool up() const { return !cooling_down && !probe_failing; }
};

}  // namespace sb
