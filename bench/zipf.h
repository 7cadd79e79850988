#pragma once

#include <cstdint>
#include <random>
#include <vector>

namespace sb::bench {

// A Zipf(`skew`) trace of `lookups` key ids in [0, keys): key id `by_rank[r]` has popularity
// rank r, a shuffle, so popularity is unrelated to key order. `probability`, when given, gets
// each rank's probability (most popular first).
std::vector<uint32_t> zipfTrace(uint64_t keys, uint64_t lookups, double skew, std::mt19937_64& gen,
                                std::vector<double>* probability = nullptr);

}  // namespace sb::bench
