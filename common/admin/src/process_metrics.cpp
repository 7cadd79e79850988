#include "sb/admin/process_metrics.h"

#include <dirent.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sstream>
#include <string>
#include <vector>

#include "sb/core/files.h"

namespace sb::admin {

namespace {

std::string readFile(const char* path) {
  std::string text;
  readWholeFile(path, text);  // ("" if it cannot be read)
  return text;
}

// /proc/self/stat's fields after the command name (which may hold spaces and parentheses):
// fields[0] is field 3 (state).
std::vector<std::string> statFields() {
  std::string stat = readFile("/proc/self/stat");
  size_t close = stat.rfind(')');
  if (close == std::string::npos) return {};
  std::istringstream rest(stat.substr(close + 1));
  std::vector<std::string> fields;
  for (std::string f; rest >> f;) fields.push_back(f);
  return fields;
}

double bootTimeSeconds() {
  std::istringstream in(readFile("/proc/stat"));
  for (std::string line; std::getline(in, line);) {
    if (line.rfind("btime ", 0) == 0) return std::stod(line.substr(6));
  }
  return 0;
}

size_t openFds() {
  size_t n = 0;
  if (DIR* d = opendir("/proc/self/fd")) {
    while (const dirent* e = readdir(d)) n += e->d_name[0] != '.' ? 1 : 0;
    closedir(d);
    n -= n > 0 ? 1 : 0;  // the directory stream's own descriptor
  }
  return n;
}

}  // namespace

void updateProcessMetrics(MetricsRegistry& registry) {
  std::vector<std::string> f = statFields();
  const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  const double page = static_cast<double>(sysconf(_SC_PAGESIZE));
  // Field numbers as proc(5) gives them: utime 14, stime 15, starttime 22, vsize 23, rss 24.
  auto field = [&f](size_t n) { return std::stod(f.at(n - 3)); };
  if (f.size() >= 22 && ticks > 0) {
    registry.counter("process_cpu_seconds_total", "User and system CPU time spent, in seconds")
        .mirror((field(14) + field(15)) / ticks);
    if (double boot = bootTimeSeconds(); boot > 0) {
      registry.gauge("process_start_time_seconds", "Start time of the process since the Unix epoch")
          .set(boot + field(22) / ticks);
    }
    registry.gauge("process_virtual_memory_bytes", "Virtual memory size in bytes").set(field(23));
    registry.gauge("process_resident_memory_bytes", "Resident memory size in bytes")
        .set(field(24) * page);
  }
  registry.gauge("process_open_fds", "Open file descriptors").set(static_cast<double>(openFds()));
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur != RLIM_INFINITY) {
    registry.gauge("process_max_fds", "Limit on open file descriptors")
        .set(static_cast<double>(lim.rlim_cur));
  }
}

}  // namespace sb::admin
