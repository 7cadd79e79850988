#pragma once

#include <cstdlib>
#include <cstring>

namespace sb::bench {

// The value after `--name` on the command line, or `fallback`.
inline double flag(int argc, char** argv, const char* name, double fallback) {
  for (int i = 1; i + 1 < argc; ++i) {
    if (!std::strcmp(argv[i], name)) return std::atof(argv[i + 1]);
  }
  return fallback;
}

}  // namespace sb::bench
