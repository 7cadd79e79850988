#include "edge_config.h"
#include "sb/core/signals.h"

int main(int argc, char** argv) {
  sb::setUpProcessSignals();
  sb::edge::EdgeConfig config;
  if (auto rc = sb::edge::parseEdgeConfig(argc, argv, config)) return *rc;
  return sb::edge::runEdge(config);
}
