#include "embedding_config.h"
#include "sb/core/signals.h"

int main(int argc, char** argv) {
  sb::setUpProcessSignals();
  sb::embedding::EmbeddingConfig config;
  if (auto rc = sb::embedding::parseEmbeddingConfig(argc, argv, config)) return *rc;
  return sb::embedding::runEmbedding(config);
}
