#pragma once

#include <optional>
#include <string>

#include <CLI/CLI.hpp>

#include "sb/core/options.h"

namespace sb {

// Adds --config FILE (TOML / INI: `name = value`), --log-level, --log-format and --ready-fd.
void addCommonOptions(CLI::App& app, CommonOptions& options);

// Gives every long option an environment variable: SB_ + upper-case name, dashes as
// underscores (--max-body -> SB_MAX_BODY). Call after all options are added. Precedence is
// CLI11's: command line, then the config file, then the environment.
void bindEnvironment(CLI::App& app);

// Validators with plain messages ("must be a positive number, not '0'"); CLI11's own print
// the double range they check against.
CLI::Validator positiveNumber();
CLI::Validator nonNegativeNumber();

// Parses; on --help prints help and returns 0, on a bad flag or value prints one line
// "<prog>: <reason>" to stderr and returns 2, otherwise returns nullopt (carry on).
std::optional<int> parseCommandLine(CLI::App& app, int argc, char** argv);

}  // namespace sb
