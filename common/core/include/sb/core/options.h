#pragma once

#include <string>

namespace sb {

// Options every process has. The flags that set them are in config.h (CLI11, which is heavy
// to compile: include it only where flags are declared).
struct CommonOptions {
  std::string log_level = "info";
  std::string log_format = "text";
  int ready_fd = -1;
  std::string admin_http;  // IP:PORT of the admin listener (/livez /readyz /metrics); "" = off
};

// Sets up spdlog: level (trace..off) and format ("text" or "json", one line per event).
void setupLogging(const std::string& name, const CommonOptions& options);

// Writes `text` to the readiness fd (if any) and closes it: the systemd-style "I am up" event
// that scripts and tests wait on instead of sleeping.
void notifyReady(int& ready_fd, const std::string& text);

}  // namespace sb
