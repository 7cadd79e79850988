#pragma once

#include <optional>

#include "router.h"
#include "sb/core/options.h"

namespace sb::router {

// Flags, SB_* environment variables and --config file -> options. Returns an exit code when
// the process should stop (help printed, or a bad flag), nullopt to carry on.
std::optional<int> parseRouterOptions(int argc, char** argv, RouterOptions& options,
                                      CommonOptions& common);

// Binds, serves until SIGTERM/SIGINT, returns the exit code.
int runRouter(const RouterOptions& options, CommonOptions& common);

}  // namespace sb::router
