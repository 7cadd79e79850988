#include "echo_config.h"
#include "sb/core/signals.h"

int main(int argc, char** argv) {
  sb::setUpProcessSignals();
  sb::WorkerOptions worker;
  sb::echo::EchoOptions echo;
  sb::CommonOptions common;
  if (auto rc = sb::echo::parseEchoOptions(argc, argv, worker, echo, common)) return *rc;
  return sb::echo::runEcho(std::move(worker), echo, common);
}
