#pragma once

#include "sb/bus/worker.h"
#include "sb/redis/slot_client.h"
#include "session_store.h"

namespace sb::session {

struct ServiceOptions {
  uint32_t ttl_s = 86400;                        // default idle TTL
  uint32_t max_ttl_s = 30 * 86400;               // largest per-session TTL accepted
  size_t max_message_bytes = size_t{256} << 10;  // one message, encoded
  size_t max_field_bytes = size_t{64} << 10;     // metadata or settings, encoded
  uint32_t max_batch = 100;                      // messages in one append
  uint32_t default_last = 50;                    // messages returned by get without a range
  uint32_t max_get = 1000;                       // messages returned by one get at most
  bool replica_reads = false;                    // session.get from cluster replicas
  Millis redis_deadline{5000};                   // for requests that carry no deadline
};

// The session service: session.create / get / append / update / touch / delete / list /
// status on the worker library, over the session store.
class SessionService {
 public:
  SessionService(Worker& worker, redis::SlotClient& redis, SessionStore& store,
                 ServiceOptions options);

 private:
  void create(const CallPtr& call);
  void get(const CallPtr& call);
  void append(const CallPtr& call);
  void update(const CallPtr& call);
  void touch(const CallPtr& call);
  void remove(const CallPtr& call);
  void list(const CallPtr& call);
  void status(const CallPtr& call);
  TimePoint redisDeadline(const Call& call) const;
  std::string newId();

  Worker& worker_;
  redis::SlotClient& redis_;
  SessionStore& store_;
  ServiceOptions options_;
};

}  // namespace sb::session
