#pragma once

#include <optional>

#include "health_service.h"
#include "sb/bus/worker.h"
#include "sb/core/options.h"

namespace sb::health {

struct HealthConfig {
  HealthOptions health;
  WorkerOptions worker;  // registers as service `health` (op health.status)
  bool serve_bus = true;
  CommonOptions common;
};

std::optional<int> parseHealthConfig(int argc, char** argv, HealthConfig& c);
int runHealth(HealthConfig& c);

}  // namespace sb::health
