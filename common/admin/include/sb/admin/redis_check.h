#pragma once

#include "sb/admin/admin_plane.h"
#include "sb/redis/slot_client.h"

namespace sb::admin {

// The check "redis": a complete slot map and every master answering PING, else which node is
// missing. `required` false for a service that serves without its Redis (a cache).
void watchRedis(AdminPlane& admin, const redis::SlotClient& redis, bool required);

}  // namespace sb::admin
