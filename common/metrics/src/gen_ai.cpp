#include "sb/metrics/gen_ai.h"

namespace sb {

namespace gen_ai {

std::vector<double> tokenBuckets() {
  return {1,     4,     16,     64,      256,     1024,     4096,
          16384, 65536, 262144, 1048576, 4194304, 16777216, 67108864};
}

std::vector<double> durationBuckets() {
  return {0.01, 0.02, 0.04, 0.08, 0.16, 0.32, 0.64, 1.28, 2.56, 5.12, 10.24, 20.48, 40.96, 81.92};
}

std::vector<double> firstTokenBuckets() {
  return {0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1,
          0.25,  0.5,   0.75, 1.0,  2.5,  5.0,  7.5,  10.0};
}

std::vector<double> perOutputTokenBuckets() {
  return {0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1.0, 2.5};
}

}  // namespace gen_ai

std::string BoundedLabel::operator()(const std::string& value) {
  if (value.empty()) return "unknown";
  if (seen_.count(value)) return value;
  if (seen_.size() >= max_) return "other";
  seen_.insert(value);
  return value;
}

}  // namespace sb
