#include "router_config.h"
#include "sb/core/signals.h"

int main(int argc, char** argv) {
  sb::setUpProcessSignals();
  sb::router::RouterOptions options;
  sb::CommonOptions common;
  if (auto rc = sb::router::parseRouterOptions(argc, argv, options, common)) return *rc;
  return sb::router::runRouter(options, common);
}
