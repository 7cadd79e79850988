#pragma once

#include <sys/types.h>

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace sb::bench {

// Percentile (0..100) of a sample, by nearest rank; 0 for an empty sample.
double percentile(std::vector<double> v, double p);
double median(std::vector<double> v);
// User + system CPU seconds a process has used so far (/proc/PID/stat fields 14 and 15).
double cpuSeconds(pid_t pid);
// A memory field of /proc/PID/status ("VmRSS:", or "VmHWM:" for the peak), in MB; 0 if absent.
double statusMb(pid_t pid, const char* field);
// "231,456"
std::string grouped(double v);

}  // namespace sb::bench
