#include "inference_config.h"
#include "sb/core/signals.h"

int main(int argc, char** argv) {
  sb::setUpProcessSignals();
  sb::inference::InferenceConfig config;
  if (auto rc = sb::inference::parseInferenceConfig(argc, argv, config)) return *rc;
  return sb::inference::runInference(config);
}
