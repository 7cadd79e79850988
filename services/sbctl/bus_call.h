#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include <zmq.hpp>

#include "sb/bus/client.h"

namespace sb::sbctl {

// One request through the client library on a loop of its own: sent to a live router among
// `routers` (a draining one hands it to another), chunks passed to `on_chunk` as they arrive,
// run to its end (every request ends: reply, error or the deadline).
CallResult callBus(zmq::context_t& context, const std::vector<std::string>& routers,
                   const CurveClientKeys& curve, std::string_view service, std::string_view op,
                   std::string_view body, const CallOptions& options,
                   const std::function<void(const Incoming&)>& on_chunk = {});

}  // namespace sb::sbctl
