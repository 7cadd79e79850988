#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

namespace sb {

// Options every process has.
struct CommonOptions {
  std::string log_level = "info";
  std::string log_format = "text";
  int ready_fd = -1;
};

// Adds --config FILE (TOML / INI: `name = value`), --log-level, --log-format and --ready-fd.
void addCommonOptions(CLI::App& app, CommonOptions& options);

// Gives every long option an environment variable: SB_ + upper-case name, dashes as
// underscores (--max-body -> SB_MAX_BODY). Call after all options are added. Precedence is
// CLI11's: command line, then the config file, then the environment.
void bindEnvironment(CLI::App& app);

// Parses; on --help prints help and returns 0, on a bad flag or value prints one line
// "<prog>: <reason>" to stderr and returns 2, otherwise returns nullopt (carry on).
std::optional<int> parseCommandLine(CLI::App& app, int argc, char** argv);

// Sets up spdlog: level (trace..off) and format ("text" or "json", one line per event).
void setupLogging(const std::string& name, const CommonOptions& options);

// Writes `text` to the readiness fd (if any) and closes it: the systemd-style "I am up" event
// that scripts and tests wait on instead of sleeping.
void notifyReady(int& ready_fd, const std::string& text);

}  // namespace sb
