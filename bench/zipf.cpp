#include "zipf.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <numeric>

namespace sb::bench {

std::vector<uint32_t> zipfTrace(uint64_t keys, uint64_t lookups, double skew, std::mt19937_64& gen,
                                std::vector<double>* probability) {
  std::vector<uint32_t> by_rank(keys);
  std::iota(by_rank.begin(), by_rank.end(), 0u);
  std::shuffle(by_rank.begin(), by_rank.end(), gen);
  std::vector<double> cdf(keys);
  double sum = 0;
  for (uint64_t r = 0; r < keys; ++r) {
    sum += 1.0 / std::pow(static_cast<double>(r + 1), skew);
    cdf[r] = sum;
  }
  if (probability) {
    probability->resize(keys);
    for (uint64_t r = 0; r < keys; ++r) (*probability)[r] = (cdf[r] - (r ? cdf[r - 1] : 0.0)) / sum;
  }
  std::uniform_real_distribution<double> uniform(0.0, sum);
  std::vector<uint32_t> trace;
  trace.reserve(lookups);
  for (uint64_t i = 0; i < lookups; ++i) {
    auto rank = std::upper_bound(cdf.begin(), cdf.end(), uniform(gen)) - cdf.begin();
    rank = std::min<std::ptrdiff_t>(rank, static_cast<std::ptrdiff_t>(keys) - 1);
    trace.push_back(by_rank[static_cast<size_t>(rank)]);
  }
  return trace;
}

}  // namespace sb::bench
