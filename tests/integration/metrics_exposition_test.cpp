// The metrics text every process exposes, checked by Prometheus's own promtool: the router's
// (with a worker whose name needs escaping in a label), an inference worker's and an
// embedding cache's.
#include <gtest/gtest.h>

#include <csignal>
#include <fstream>

#include "bus.h"
#include "dispatch.h"
#include "promtool.h"
#include "sb/core/json_body.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;

std::string metricsOf(Bus& bus, const std::string& service, const std::string& op,
                      const std::string& to = {}) {
  auto client = bus.client();
  CallOptions o;
  o.target = to;
  auto r = client->call(service, op, {}, o);
  EXPECT_TRUE(r.status.ok()) << r.status.message;
  nlohmann::json text = unpackJsonValue(r.body);
  return text.is_string() ? text.get<std::string>() : std::string();
}

TEST(MetricsExposition, TheRoutersTextPassesPromtool) {
  Bus bus;
  auto worker = bus.startEcho("odd\"name\\with");
  auto client = bus.client();
  ASSERT_TRUE(client->call("echo", "echo", "x").status.ok());
  std::string text = metricsOf(bus, "router", "metrics");
  EXPECT_NE(text.find("worker=\"odd\\\"name\\\\with\""), std::string::npos) << text;
  auto problems = promtoolProblems(text);
  EXPECT_FALSE(problems) << *problems << "\n" << text;
}

// Requests refused at once (no live worker) are responses too: an outage must show in the
// error series, not only in the request count. Probes addressed to one worker are not traffic.
TEST(MetricsExposition, RefusedRequestsCountAsResponsesAndProbesDoNot) {
  Bus bus({"--no-worker-grace-ms", "0"});
  {
    auto worker = bus.startEcho("e1");
    auto client = bus.client();
    ASSERT_TRUE(client->call("echo", "echo", "x").status.ok());
    CallOptions probe;
    probe.target = "e1";
    ASSERT_TRUE(client->call("echo", "worker.stats", {}, probe).status.ok());
    worker.signal(SIGTERM);
    ASSERT_EQ(worker.awaitExit(std::chrono::seconds(10)), 0);
  }
  ASSERT_TRUE(waitUntil([&] { return !bus.hasWorker("e1"); }, std::chrono::seconds(10)));
  auto client = bus.client();
  EXPECT_EQ(client->call("echo", "echo", "x").status.code, proto::ErrorCode::kUnavailable);
  std::string text = metricsOf(bus, "router", "metrics");
  EXPECT_NE(text.find("sb_router_requests_total{service=\"echo\"} 2\n"), std::string::npos) << text;
  EXPECT_NE(text.find("sb_router_responses_total{code=\"OK\",service=\"echo\"} 1\n"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find("sb_router_responses_total{code=\"UNAVAILABLE\",service=\"echo\"} 1\n"),
            std::string::npos)
      << text;
  // The bus op answers the whole process's text, as /metrics does.
  EXPECT_NE(text.find("process_cpu_seconds_total"), std::string::npos);
}

TEST(MetricsExposition, AnInferenceWorkersTextPassesPromtool) {
  Bus bus;
  auto dispatch = startDispatch(bus, "infer-1", {"--demo-first-token-ms", "0"});
  auto client = bus.client();
  ASSERT_TRUE(client
                  ->call("infer", "chat",
                         packJsonValue({{"messages", {{{"role", "user"}, {"content", "hi"}}}},
                                        {"max_tokens", 3}}))
                  .status.ok());
  std::string text = metricsOf(bus, "infer", "metrics", "infer-1");
  EXPECT_NE(text.find("sb_infer_backend_tokens_total"), std::string::npos) << text;
  auto problems = promtoolProblems(text);
  EXPECT_FALSE(problems) << *problems << "\n" << text;
}

TEST(MetricsExposition, AnEmbeddingCachesTextPassesPromtool) {
  Bus bus;
  auto cache = Process::start("sb-embedding-cache",
                              {"--router", bus.backend(), "--name", "cache-1", "--no-redis"});
  ASSERT_TRUE(cache.awaitReady(10s)) << cache.log();
  auto client = bus.client();
  for (int i = 0; i < 2; ++i) {  // a computation, then a memory hit
    ASSERT_TRUE(client
                    ->call("embeddings", "embed",
                           packJsonValue({{"model", "m"}, {"inputs", {"one text", "another"}}}))
                    .status.ok());
  }
  std::string text = metricsOf(bus, "embeddings", "metrics", "cache-1");
  for (const char* series :
       {"sb_embed_memory_hit_ratio 0.5", "sb_embed_memory_evictions_total 0",
        "sb_embed_inputs_total{source=\"memory\"} 2", "sb_embed_backend_batch_size_bucket"}) {
    EXPECT_NE(text.find(series), std::string::npos) << series << "\n" << text;
  }
  auto problems = promtoolProblems(text);
  EXPECT_FALSE(problems) << *problems << "\n" << text;
}

}  // namespace
}  // namespace sb::test
