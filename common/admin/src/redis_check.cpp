#include "sb/admin/redis_check.h"

namespace sb::admin {

void watchRedis(AdminPlane& admin, const redis::SlotClient& redis, bool required) {
  admin.readiness().add(
      "redis",
      [&redis] {
        std::string why = redis.notReadyReason();
        return Check{why.empty(), why.empty() ? "every master answers" : why};
      },
      required);
}

}  // namespace sb::admin
