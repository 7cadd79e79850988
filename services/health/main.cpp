#include "health_config.h"
#include "sb/core/signals.h"

int main(int argc, char** argv) {
  sb::setUpProcessSignals();
  sb::health::HealthConfig config;
  if (auto rc = sb::health::parseHealthConfig(argc, argv, config)) return *rc;
  return sb::health::runHealth(config);
}
