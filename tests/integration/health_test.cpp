// The admin listener of every process and sb-health over a real suite: probes, readiness as
// workers and Redis come and go, promtool on every /metrics, a draining worker's own /readyz.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>
#include <thread>

#include "bus.h"
#include "dispatch.h"
#include "http_get.h"
#include "promtool.h"
#include "redis.h"
#include "sb/core/json_body.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

std::string admin(int port) { return "127.0.0.1:" + std::to_string(port); }

bool readyzIs(int port, long status, const std::string& needle = {}) {
  HttpGetResult r = httpGet(port, "/readyz");
  return r.status == status && r.body.find(needle) != std::string::npos;
}

// Every process kind with its admin listener, checked the way a kubelet and a scraper do.
TEST(AdminListener, EveryProcessAnswersProbesAndItsMetricsPassPromtool) {
  RedisServer redis;
  int router_port = freePort();
  Bus bus({"--admin-http", admin(router_port)});
  int session_port = freePort(), infer_port = freePort(), embed_port = freePort(),
      echo_port = freePort(), edge_port = freePort(), health_port = freePort();
  Process session =
      Process::start("sb-session", {"--router", bus.backend(), "--redis", redis.url(), "--name",
                                    "session-1", "--admin-http", admin(session_port)});
  ASSERT_TRUE(session.awaitReady(10s)) << session.log();
  Process infer = startDispatch(bus, "infer-1",
                                {"--demo-first-token-ms", "0", "--admin-http", admin(infer_port)});
  Process embed = Process::start(
      "sb-embedding-cache",
      {"--router", bus.backend(), "--redis", redis.url(), "--name", "embed-1", "--embed-backend",
       "kind=hash,models=hash", "--admin-http", admin(embed_port)});
  ASSERT_TRUE(embed.awaitReady(10s)) << embed.log();
  Process echo = bus.startEcho("echo-1", {"--admin-http", admin(echo_port)});
  Process edge = Process::start("sb-edge", {"--router", bus.frontend(), "--listen", "127.0.0.1:0",
                                            "--admin-http", admin(edge_port)});
  ASSERT_TRUE(edge.awaitReady(10s)) << edge.log();
  Process health =
      Process::start("sb-health", {"--router", bus.backend(), "--probe-router", bus.frontend(),
                                   "--redis", redis.url(), "--admin-http", admin(health_port),
                                   "--probe-interval-ms", "200", "--gather-metrics"});
  ASSERT_TRUE(health.awaitReady(10s)) << health.log();
  auto client = bus.client();
  ASSERT_TRUE(client
                  ->call("infer", "chat",
                         packJsonValue({{"messages", {{{"role", "user"}, {"content", "hi"}}}},
                                        {"max_tokens", 3}}))
                  .status.ok());

  struct Target {
    const char* what;
    int port;
    std::vector<std::string> families;
  };
  std::vector<Target> targets{
      {"router", router_port, {"sb_router_requests_total", "sb_router_live_workers", "sb_ready"}},
      {"session", session_port, {"sb_worker_capacity", "sb_session_redis_up", "process_open_fds"}},
      {"infer", infer_port, {"sb_infer_backend_tokens_total", "sb_infer_backend_up", "sb_ready"}},
      {"embeddings", embed_port, {"sb_embed_memory_bytes", "sb_embed_backend_up"}},
      {"echo", echo_port, {"sb_worker_requests_total", "process_cpu_seconds_total"}},
      {"edge", edge_port, {"sb_ready", "process_resident_memory_bytes"}},
      {"health", health_port, {"sb_health_ready", "sb_health_service_live_workers"}},
  };
  for (const auto& t : targets) {
    SCOPED_TRACE(t.what);
    HttpGetResult live = httpGet(t.port, "/livez");
    EXPECT_EQ(live.status, 200);
    EXPECT_EQ(httpGet(t.port, "/healthz").status, 200);
    EXPECT_TRUE(waitUntil([&] { return readyzIs(t.port, 200, "\"ready\""); }, 10s))
        << httpGet(t.port, "/readyz?verbose").body;
    HttpGetResult m = httpGet(t.port, "/metrics");
    EXPECT_EQ(m.status, 200);
    EXPECT_EQ(m.content_type, "text/plain; version=0.0.4; charset=utf-8");
    for (const auto& f : t.families) EXPECT_NE(m.body.find("\n" + f), std::string::npos) << f;
    auto problems = promtoolProblems(m.body);
    EXPECT_FALSE(problems) << *problems << "\n" << m.body;
    EXPECT_EQ(httpGet(t.port, "/nothing").status, 404);
  }
  // Verbose readiness lists each check; the session's names its Redis.
  json verbose = json::parse(httpGet(session_port, "/readyz?verbose").body);
  ASSERT_TRUE(verbose.contains("checks")) << verbose;
  EXPECT_EQ(verbose["checks"][1]["name"], "redis");
  // sb-health gathers every instance's series with service and instance labels (and keeps
  // each instance's own `service` label as exported_service).
  ASSERT_TRUE(waitUntil(
      [&] {
        std::string text = httpGet(health_port, "/metrics").body;
        return text.find("sb_infer_backend_tokens_total{service=\"infer\",instance=\"infer-1\"") !=
                   std::string::npos ||
               text.find(
                   "sb_infer_backend_tokens_total{backend=\"demo\",service=\"infer\","
                   "instance=\"infer-1\"}") != std::string::npos;
      },
      10s))
      << httpGet(health_port, "/metrics").body;
  std::string gathered = httpGet(health_port, "/metrics").body;
  EXPECT_NE(gathered.find("exported_service=\"infer\""), std::string::npos);
  EXPECT_NE(gathered.find("instance=\"session-1\""), std::string::npos);
  auto problems = promtoolProblems(gathered);
  EXPECT_FALSE(problems) << *problems;
}

// A worker that drains answers 503 on its own /readyz from the signal until it exits, while
// the request it holds finishes normally.
TEST(AdminListener, ADrainingWorkerIsUnreadyWhileItFinishes) {
  Bus bus;
  int port = freePort();
  Process echo = bus.startEcho("slow", {"--delay-ms", "1500", "--admin-http", admin(port)});
  ASSERT_TRUE(waitUntil([&] { return readyzIs(port, 200); }, 5s));
  CallResult result;
  std::thread caller([&] { result = bus.client()->call("echo", "echo", "x"); });
  ASSERT_TRUE(
      waitUntil([&] { return bus.workerStats("echo", "slow").value("inflight", 0) == 1; }, 5s));
  echo.signal(SIGTERM);
  ASSERT_TRUE(waitUntil([&] { return readyzIs(port, 503, "worker: draining"); }, 5s))
      << httpGet(port, "/readyz").body;
  EXPECT_TRUE(echo.running());  // still finishing its request
  caller.join();
  EXPECT_TRUE(result.status.ok()) << result.status.message;
  EXPECT_EQ(echo.awaitExit(10s), 0);
}

// sb-health's verdict for the composed suite: 200 when every required service has a live
// worker and Redis answers; 503 naming the service whose last worker died, and naming Redis
// when it stops; back to 200 by itself when each comes back.
TEST(HealthService, SuiteReadinessFollowsWorkersAndRedis) {
  RedisServer redis;
  Bus bus;
  int port = freePort();
  Process session = Process::start("sb-session", {"--router", bus.backend(), "--redis", redis.url(),
                                                  "--name", "session-1", "--heartbeat-ms", "200"});
  ASSERT_TRUE(session.awaitReady(10s)) << session.log();
  auto startInfer = [&] { return startDispatch(bus, "infer-1", {"--heartbeat-ms", "200"}); };
  Process infer = startInfer();
  Process health = Process::start(
      "sb-health", {"--router", bus.backend(), "--probe-router", bus.frontend(), "--redis",
                    redis.url(), "--require", "session,infer", "--admin-http", admin(port),
                    "--probe-interval-ms", "200", "--probe-timeout-ms", "300"});
  ASSERT_TRUE(health.awaitReady(10s)) << health.log();
  ASSERT_TRUE(waitUntil([&] { return readyzIs(port, 200); }, 10s))
      << httpGet(port, "/readyz?verbose").body;

  infer.signal(SIGKILL);
  ASSERT_TRUE(waitUntil([&] { return readyzIs(port, 503, "service infer: no live worker"); }, 10s))
      << httpGet(port, "/readyz").body;
  json status = json::parse(httpGet(port, "/status").body);
  EXPECT_FALSE(status["ready"].get<bool>());
  infer = startInfer();
  ASSERT_TRUE(waitUntil([&] { return readyzIs(port, 200); }, 10s)) << httpGet(port, "/readyz").body;

  redis.kill();
  std::string name = "redis 127.0.0.1:" + std::to_string(redis.port());
  ASSERT_TRUE(waitUntil([&] { return readyzIs(port, 503, name); }, 10s))
      << httpGet(port, "/readyz").body;
  redis.restart();
  ASSERT_TRUE(waitUntil([&] { return readyzIs(port, 200); }, 15s))
      << httpGet(port, "/readyz?verbose").body;

  // The same picture over the bus.
  auto r = bus.client()->call("health", "health.status", {});
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  json bus_status = unpackJsonValue(r.body);
  EXPECT_TRUE(bus_status["ready"].get<bool>()) << bus_status;
  bool listed = false;
  for (const auto& i : bus_status["instances"]) listed = listed || i["name"] == "infer-1";
  EXPECT_TRUE(listed) << bus_status;
}

}  // namespace
}  // namespace sb::test
