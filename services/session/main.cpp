#include "sb/core/signals.h"
#include "session_config.h"

int main(int argc, char** argv) {
  sb::setUpProcessSignals();
  sb::session::SessionConfig config;
  if (auto rc = sb::session::parseSessionConfig(argc, argv, config)) return *rc;
  return sb::session::runSession(config);
}
