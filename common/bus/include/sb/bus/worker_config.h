#pragma once

#include <CLI/CLI.hpp>

#include "sb/bus/curve.h"
#include "sb/bus/worker.h"

namespace sb {

// The flags every worker process has: --router (repeatable), --capacity, --weight, --backup,
// --name, --model (repeatable), --heartbeat-ms, --liveness, --drain-timeout-ms, --max-body,
// --curve-secret, --curve-router-key. Call applyWorkerOptions after parsing: an error message
// when the CURVE keys cannot be read.
struct WorkerFlags {
  int64_t heartbeat_ms = 1000;
  int64_t drain_timeout_ms = 60000;
  CurveFlags curve;
};
void addWorkerOptions(CLI::App& app, WorkerOptions& options, WorkerFlags& flags);
[[nodiscard]] std::optional<std::string> applyWorkerOptions(WorkerOptions& options,
                                                            const WorkerFlags& flags);

}  // namespace sb
