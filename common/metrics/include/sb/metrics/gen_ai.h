#pragma once

#include <cstddef>
#include <set>
#include <string>
#include <vector>

namespace sb {

// The OpenTelemetry generative-AI semantic conventions' metrics, in Prometheus spelling
// (gen_ai.client.token.usage -> gen_ai_client_token_usage, attributes with dots as
// underscores), with the explicit bucket boundaries that specification recommends.
namespace gen_ai {

// gen_ai.client.token.usage ({token}): 1, 4, 16, ... 67108864.
std::vector<double> tokenBuckets();
// gen_ai.client.operation.duration and gen_ai.server.request.duration (s): 0.01 .. 81.92.
std::vector<double> durationBuckets();
// gen_ai.server.time_to_first_token (s): 0.001 .. 10.
std::vector<double> firstTokenBuckets();
// gen_ai.server.time_per_output_token (s): 0.01 .. 2.5.
std::vector<double> perOutputTokenBuckets();

}  // namespace gen_ai

// A label whose values come from requests (a model name): the first `max_values` distinct
// values are kept, later ones read "other" (and an empty one "unknown"), so a client sending random
// names cannot grow the number of series without bound.
class BoundedLabel {
 public:
  explicit BoundedLabel(size_t max_values = 64) : max_(max_values) {}
  std::string operator()(const std::string& value);

 private:
  size_t max_;
  std::set<std::string> seen_;
};

}  // namespace sb
