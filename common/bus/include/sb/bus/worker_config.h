#pragma once

#include <CLI/CLI.hpp>

#include "sb/bus/worker.h"

namespace sb {

// The flags every worker process has: --router (repeatable), --capacity, --weight, --backup,
// --name, --model (repeatable), --heartbeat-ms, --liveness, --drain-timeout-ms, --max-body.
// Call applyWorkerOptions after parsing.
struct WorkerFlags {
  int64_t heartbeat_ms = 1000;
  int64_t drain_timeout_ms = 60000;
};
void addWorkerOptions(CLI::App& app, WorkerOptions& options, WorkerFlags& flags);
void applyWorkerOptions(WorkerOptions& options, const WorkerFlags& flags);

}  // namespace sb
