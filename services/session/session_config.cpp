#include "session_config.h"

#include <iostream>

#include <spdlog/spdlog.h>

#include "sb/admin/redis_check.h"
#include "sb/bus/worker_config.h"
#include "sb/core/config.h"
#include "sb/redis/redis_flags.h"

namespace sb::session {

std::optional<int> parseSessionConfig(int argc, char** argv, SessionConfig& c) {
  CLI::App app{"Switchboard session service: chat sessions in Redis, sharded by CRC16 slots",
               "sb-session"};
  c.worker.service = "session";
  c.worker.capacity = 512;
  WorkerFlags wf;
  addWorkerOptions(app, c.worker, wf);
  app.get_option("--capacity")->default_val(512);
  redis::RedisFlags rf;
  redis::addRedisOptions(app, rf, c.redis);
  int64_t ack_ms = 1000;
  app.add_flag("--replica-reads", c.service.replica_reads,
               "Serve session.get from cluster replicas (READONLY)");
  app.add_option(
         "--min-replicas-ack", c.store.min_replicas_ack,
         "WAIT for this many replicas after each write; UNAVAILABLE if they do not ack in time")
      ->capture_default_str();
  app.add_option("--ack-timeout-ms", ack_ms, "How long WAIT waits")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--key-prefix", c.store.prefix, "Prefix of every key")->capture_default_str();
  int64_t op_window_s = c.store.op_window.count() / 1000;
  app.add_option("--op-window-s", op_window_s,
                 "How long an op_id is remembered: a resend within it is answered, not applied")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--ttl-s", c.service.ttl_s, "Default idle TTL of a session, refreshed on access")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-ttl-s", c.service.max_ttl_s, "Largest TTL a session may ask for")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-messages", c.store.max_messages,
                 "History cap: messages kept per session (oldest dropped)")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-history-bytes", c.store.max_history_bytes,
                 "History cap: bytes kept per session (oldest dropped)")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  app.add_option("--max-message-bytes", c.service.max_message_bytes,
                 "Largest single message, encoded")
      ->check(sb::positiveNumber())
      ->capture_default_str();
  addCommonOptions(app, c.common);
  bindEnvironment(app);
  if (auto rc = parseCommandLine(app, argc, argv)) return rc;
  auto fail = [](const std::string& why) {
    std::cerr << "sb-session: " << why << "\n";
    return 2;
  };
  if (auto err = applyWorkerOptions(c.worker, wf)) return fail(*err);
  if (auto err = redis::applyRedisOptions(rf, c.redis)) return fail(*err);
  if (c.store.prefix.find_first_of("{}") != std::string::npos) {
    return fail("--key-prefix must not contain braces (they would change the hash tag)");
  }
  if (c.service.max_message_bytes > c.store.max_history_bytes) {
    return fail("--max-message-bytes must not exceed --max-history-bytes");
  }
  c.redis.replica_reads = c.service.replica_reads;
  c.store.ack_timeout = Millis(ack_ms);
  c.store.op_window = Millis(op_window_s * 1000);
  c.store.index_ttl_s = c.service.max_ttl_s;
  return std::nullopt;
}

int runSession(SessionConfig& c) {
  setupLogging("session", c.common);
  zmq::context_t context(1);
  EventLoop loop;
  redis::SlotClient redis(loop, c.redis);
  SessionStore store(loop, redis, c.store);
  Worker worker(context, loop, c.worker);
  SessionService service(worker, redis, store, c.service);
  admin::AdminPlane admin(loop, c.common);
  admin.watchWorker(worker);
  admin::watchRedis(admin, redis, true);
  admin.onScrape([&redis](MetricsRegistry& m) {
    m.gauge("sb_session_redis_up", "1 while the session store's Redis answers")
        .set(redis.ready() ? 1 : 0);
  });
  if (!admin.start()) return 1;
  redis.start();
  store.loadScripts();
  // Serving starts at once: while Redis is unreachable requests get UNAVAILABLE and
  // session.status reports not ready; everything recovers when Redis comes back.
  return runWorker(worker, c.common.ready_fd);
}

}  // namespace sb::session
