#pragma once

#include <optional>

#include "sb/bus/worker.h"
#include "sb/core/options.h"
#include "sb/redis/slot_client.h"
#include "session_service.h"
#include "session_store.h"

namespace sb::session {

struct SessionConfig {
  WorkerOptions worker;
  redis::SlotClientOptions redis;
  StoreOptions store;
  ServiceOptions service;
  CommonOptions common;
};

std::optional<int> parseSessionConfig(int argc, char** argv, SessionConfig& config);
int runSession(SessionConfig& config);

}  // namespace sb::session
