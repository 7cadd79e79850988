#pragma once

#include <optional>

#include "echo_service.h"
#include "sb/bus/worker.h"
#include "sb/core/options.h"

namespace sb::echo {

std::optional<int> parseEchoOptions(int argc, char** argv, WorkerOptions& worker, EchoOptions& echo,
                                    CommonOptions& common);
int runEcho(WorkerOptions worker, const EchoOptions& echo, CommonOptions& common);

}  // namespace sb::echo
