#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace sb::bench {

// Percentile (0..100) of a sample, by nearest rank; 0 for an empty sample.
double percentile(std::vector<double> v, double p);
double median(std::vector<double> v);
// "231,456"
std::string grouped(double v);

}  // namespace sb::bench
