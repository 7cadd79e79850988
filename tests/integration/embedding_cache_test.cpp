// sb-embedding-cache as deployed: real router, real redis-server, two cache instances, and a
// scripted OpenAI-compatible /v1/embeddings server that counts what it computes.
#include <gtest/gtest.h>

#include <csignal>
#include <cstring>

#include "bus.h"
#include "cache_key.h"
#include "cached_vector.h"
#include "fake_embedder.h"
#include "process.h"
#include "redis.h"
#include "sb/core/json_body.h"

namespace sb::test {
namespace {

using namespace std::chrono_literals;
using json = nlohmann::json;

struct Answer {
  proto::Status status;
  std::vector<std::vector<float>> vectors;
  std::vector<std::string> sources;
};

Answer decode(const CallResult& r) {
  Answer a;
  a.status = r.status;
  if (!r.status.ok()) return a;
  json j = unpackJsonValue(r.body);
  for (const auto& v : j["vectors"]) {
    const auto& bytes = v.get_binary();
    std::vector<float> f(bytes.size() / 4);
    std::memcpy(f.data(), bytes.data(), f.size() * 4);
    a.vectors.push_back(std::move(f));
  }
  for (const auto& s : j["sources"]) a.sources.push_back(s.get<std::string>());
  return a;
}

// One instance's `status`, or null when it does not answer.
json cacheStatus(Client& client, const std::string& target) {
  CallOptions o;
  o.target = target;
  o.deadline = Millis(5000);
  auto r = client.call("embeddings", "status", "", o);
  return r.status.ok() ? unpackJsonValue(r.body) : json();
}

std::string embedBody(const std::vector<std::string>& inputs, const std::string& model = "m") {
  return packJsonValue(json{{"model", model}, {"inputs", inputs}});
}

class EmbeddingCacheTest : public ::testing::Test {
 protected:
  Bus bus_;
  RedisServer redis_;
  FakeEmbedder backend_;
  std::unique_ptr<Client> client_ = bus_.client();

  Process startCache(const std::string& name, std::vector<std::string> args = {}) {
    std::vector<std::string> all{
        "--router",        bus_.backend(),
        "--name",          name,
        "--redis",         redis_.url(),
        "--embed-backend", "kind=openai,url=" + backend_.base() + ",max_conns=4"};
    all.insert(all.end(), args.begin(), args.end());
    Process p = Process::start("sb-embedding-cache", all);
    if (!p.awaitReady(10s)) throw std::runtime_error("cache did not register: " + p.log());
    return p;
  }

  Answer embed(const std::vector<std::string>& inputs, const std::string& target = "",
               Millis deadline = Millis(10000)) {
    CallOptions o;
    o.model = "m";
    o.target = target;
    o.deadline = deadline;
    return decode(client_->call("embeddings", "embed", embedBody(inputs), o));
  }

  json status(const std::string& target) { return cacheStatus(*bus_.client(), target); }

  // The digest the cache keys `text` of model "m" by, through an openai backend.
  static embedding::Digest digestOf(const std::string& text) {
    return embedding::cacheDigest({"m", 0, "openai/float"}, text);
  }
};

TEST_F(EmbeddingCacheTest, WhatOneInstanceComputedTheOtherServesFromRedis) {
  Process a = startCache("cache-a");
  Process b = startCache("cache-b");
  Answer first = embed({"the first text", "the second text"}, "cache-a");
  ASSERT_TRUE(first.status.ok()) << first.status.message;
  EXPECT_EQ(first.sources, (std::vector<std::string>{"computed", "computed"}));
  Answer second = embed({"the first text", "the second text"}, "cache-b");
  ASSERT_TRUE(second.status.ok()) << second.status.message;
  EXPECT_EQ(second.sources, (std::vector<std::string>{"redis", "redis"}));
  EXPECT_EQ(second.vectors, first.vectors);
  EXPECT_EQ(first.vectors[0], backend_.vectorOf("the first text"));
  EXPECT_EQ(backend_.computed("the first text"), 1);
  // Asked again, each instance answers from its own memory.
  Answer third = embed({"the second text"}, "cache-b");
  EXPECT_EQ(third.sources, (std::vector<std::string>{"memory"}));
  EXPECT_EQ(backend_.computedTotal(), 2);
}

TEST_F(EmbeddingCacheTest, HundredConcurrentIdenticalRequestsOverTwoInstancesComputeOnce) {
  Process a = startCache("cache-a");
  Process b = startCache("cache-b");
  backend_.hold(true);
  std::map<uint64_t, bool> pending;
  for (int i = 0; i < 100; ++i) {
    CallOptions o;
    o.model = "m";
    o.target = i % 2 ? "cache-b" : "cache-a";
    o.deadline = Millis(20000);
    pending[client_->send("embeddings", "embed", embedBody({"one popular question"}), o)] = true;
  }
  ASSERT_TRUE(backend_.received().await(1, 10s));
  // Everything is waiting on the one computation: 49 + 50 joined in process, and the other
  // instance left it to the lease holder.
  ASSERT_TRUE(waitUntil(
      [&] {
        json sa = status("cache-a"), sb = status("cache-b");
        if (sa.is_null() || sb.is_null()) return false;
        return sa["flights"]["joined"].get<int>() + sb["flights"]["joined"].get<int>() == 98 &&
               sa["flights"]["lease_waits"].get<int>() + sb["flights"]["lease_waits"].get<int>() ==
                   1;
      },
      10s));
  backend_.hold(false);
  int ok = 0;
  while (!pending.empty()) {
    auto in = client_->next(Millis(15000));
    ASSERT_TRUE(in.has_value()) << "a request was never answered";
    if (in->kind == proto::Kind::kChunk) continue;
    EXPECT_EQ(in->kind, proto::Kind::kReply) << in->message;
    ok += in->kind == proto::Kind::kReply;
    pending.erase(in->id);
  }
  EXPECT_EQ(ok, 100);
  EXPECT_EQ(backend_.computed("one popular question"), 1);
  EXPECT_EQ(backend_.batches(), (std::vector<size_t>{1}));
}

TEST_F(EmbeddingCacheTest, RedisDownServesFromMemoryAndBackendAndFillsAgainWhenBack) {
  Process a = startCache("cache-a", {"--redis-lookup-timeout-ms", "200"});
  ASSERT_TRUE(embed({"before the outage"}, "cache-a").status.ok());
  redis_.kill();
  Answer during = embed({"before the outage", "during the outage"}, "cache-a");
  ASSERT_TRUE(during.status.ok()) << during.status.message;
  EXPECT_EQ(during.sources, (std::vector<std::string>{"memory", "computed"}));
  json st = status("cache-a");
  EXPECT_GT(st["redis"]["errors"].get<int>() + st["redis"]["skipped"].get<int>(), 0);
  redis_.restart();
  ASSERT_TRUE(waitUntil([&] { return status("cache-a")["redis"]["ready"] == true; }, 10s));
  ASSERT_TRUE(embed({"after the outage"}, "cache-a").status.ok());
  // The value reaches the restarted Redis (stored after the answer went out), and a fresh
  // instance reads it there.
  std::string key = embedding::valueKey("sbe:", digestOf("after the outage"));
  ASSERT_TRUE(waitUntil([&] { return redis_.command({"EXISTS", key}) == "1"; }, 5s));
  Process b = startCache("cache-b");
  Answer fresh = embed({"after the outage"}, "cache-b");
  ASSERT_TRUE(fresh.status.ok()) << fresh.status.message;
  EXPECT_EQ(fresh.sources, (std::vector<std::string>{"redis"}));
  EXPECT_EQ(backend_.computed("after the outage"), 1);
}

TEST_F(EmbeddingCacheTest, CorruptOrMisplacedValuesAreRecomputedAndOverwritten) {
  Process a = startCache("cache-a");
  ASSERT_TRUE(embed({"a donor"}, "cache-a").status.ok());
  std::string prefix = "sbe:";
  std::string donor_key = embedding::valueKey(prefix, digestOf("a donor"));
  // The value is stored after the answer went out: wait for it.
  ASSERT_TRUE(waitUntil([&] { return redis_.command({"EXISTS", donor_key}) == "1"; }, 5s));
  std::string donor = redis_.command({"GET", donor_key});
  ASSERT_EQ(donor.rfind("SBE1", 0), 0u);
  // Garbage, a truncated value, and a well-formed value stored under another text's key.
  std::map<std::string, std::string> planted = {{"garbage", "not a vector at all"},
                                                {"truncated", donor.substr(0, donor.size() - 4)},
                                                {"misplaced", donor}};
  for (const auto& [text, value] : planted)
    redis_.command({"SET", embedding::valueKey(prefix, digestOf(text)), value});
  Answer got = embed({"garbage", "truncated", "misplaced"}, "cache-a");
  ASSERT_TRUE(got.status.ok()) << got.status.message;
  EXPECT_EQ(got.sources, (std::vector<std::string>{"computed", "computed", "computed"}));
  EXPECT_EQ(got.vectors[2], backend_.vectorOf("misplaced"));
  EXPECT_EQ(status("cache-a")["flights"]["corrupt"], 3);
  for (const auto& entry : planted) {
    const std::string& text = entry.first;
    ASSERT_TRUE(waitUntil(
        [&] {
          std::string now = redis_.command({"GET", embedding::valueKey(prefix, digestOf(text))});
          std::string why;
          return embedding::decodeCachedVector(now, digestOf(text), 0, why) != nullptr;
        },
        5s))
        << text << " was not overwritten";
  }
}

TEST_F(EmbeddingCacheTest, WaiterComputesWhenTheLeaseHolderDies) {
  Process a = startCache("cache-a", {"--lease-ms", "1000"});
  Process b = startCache("cache-b", {"--lease-ms", "1000"});
  backend_.hold(true);
  CallOptions o;
  o.model = "m";
  o.target = "cache-a";
  o.deadline = Millis(30000);
  client_->send("embeddings", "embed", embedBody({"a slow text"}), o);
  ASSERT_TRUE(backend_.received().await(1, 10s));  // cache-a holds the lease and computes
  o.target = "cache-b";
  uint64_t waiter = client_->send("embeddings", "embed", embedBody({"a slow text"}), o);
  ASSERT_TRUE(waitUntil([&] { return status("cache-b")["flights"]["lease_waits"] == 1; }, 10s));
  a.signal(SIGKILL);
  ASSERT_TRUE(a.awaitExit(5s).has_value());
  backend_.hold(false);
  for (;;) {
    auto in = client_->next(Millis(10000));
    ASSERT_TRUE(in.has_value()) << "the waiter never answered";
    if (in->id != waiter || in->kind == proto::Kind::kChunk) continue;
    ASSERT_EQ(in->kind, proto::Kind::kReply) << in->message;
    EXPECT_EQ(unpackJsonValue(in->body)["sources"][0], "computed");
    break;
  }
  EXPECT_EQ(status("cache-b")["flights"]["takeovers"], 1);
  EXPECT_EQ(backend_.computed("a slow text"), 1);
}

TEST_F(EmbeddingCacheTest, ALeaseWithoutExpiryDoesNotBlockWaitersForever) {
  Process a = startCache("cache-a", {"--lease-ms", "500"});
  // Not one of ours (set by hand, or by an old version): it would never run out.
  redis_.command({"SET", embedding::leaseKey("sbe:", digestOf("stuck")), "someone"});
  Answer got = embed({"stuck"}, "cache-a", Millis(5000));
  ASSERT_TRUE(got.status.ok()) << got.status.message;
  EXPECT_EQ(got.sources, (std::vector<std::string>{"computed"}));
  EXPECT_EQ(status("cache-a")["flights"]["takeovers"], 1);
}

TEST_F(EmbeddingCacheTest, FailuresAreNotCachedAndReleaseTheLease) {
  Process a = startCache("cache-a", {"--max-tries", "1"});
  Process b = startCache("cache-b");
  backend_.failNext(1);
  Answer failed = embed({"unlucky"}, "cache-a");
  EXPECT_EQ(failed.status.code, proto::ErrorCode::kUnavailable) << failed.status.message;
  // Nothing was stored, and the lease is gone: the other instance computes at once.
  Answer retried = embed({"unlucky"}, "cache-b", Millis(2000));
  ASSERT_TRUE(retried.status.ok()) << retried.status.message;
  EXPECT_EQ(retried.sources, (std::vector<std::string>{"computed"}));
  EXPECT_EQ(status("cache-b")["flights"]["lease_waits"], 0);
  EXPECT_EQ(backend_.computed("unlucky"), 1);
}

TEST_F(EmbeddingCacheTest, MissesOfOneRequestAndOfConcurrentRequestsShareBatchedCalls) {
  Process a =
      startCache("cache-a", {"--no-redis", "--max-batch", "16", "--batch-window-ms", "200"});
  std::vector<std::string> forty;
  for (int i = 0; i < 40; ++i) forty.push_back("text number " + std::to_string(i));
  Answer got = embed(forty, "cache-a");
  ASSERT_TRUE(got.status.ok()) << got.status.message;
  EXPECT_EQ(backend_.batches(), (std::vector<size_t>{16, 16, 8}));
  // Five requests sent together: their misses go in one call.
  CallOptions o;
  o.model = "m";
  o.target = "cache-a";
  for (int i = 0; i < 5; ++i)
    client_->send("embeddings", "embed",
                  embedBody({"together " + std::to_string(i), "also " + std::to_string(i)}), o);
  for (int answered = 0; answered < 5;) {
    auto in = client_->next(Millis(10000));
    ASSERT_TRUE(in.has_value());
    if (in->kind == proto::Kind::kChunk) continue;
    EXPECT_EQ(in->kind, proto::Kind::kReply) << in->message;
    ++answered;
  }
  EXPECT_EQ(backend_.batches().back(), 10u);
}

TEST_F(EmbeddingCacheTest, MemoryTierStaysWithinItsByteBudget) {
  // The hash embedder's 384 dimensions: 1,200 vectors are about 2 MiB.
  Process a = Process::start("sb-embedding-cache", {"--router", bus_.backend(), "--name", "cache-a",
                                                    "--no-redis", "--memory-mb", "1"});
  ASSERT_TRUE(a.awaitReady(10s));
  for (int round = 0; round < 12; ++round) {
    std::vector<std::string> texts;
    for (int i = 0; i < 100; ++i)
      texts.push_back(std::to_string(round) + " text " + std::to_string(i));
    ASSERT_TRUE(embed(texts, "cache-a").status.ok());
    json m = status("cache-a")["memory"];
    ASSERT_LE(m["bytes"].get<uint64_t>(), m["max_bytes"].get<uint64_t>());
  }
  json m = status("cache-a")["memory"];
  EXPECT_EQ(m["max_bytes"].get<uint64_t>(), 1u << 20);
  EXPECT_GT(m["evictions"].get<uint64_t>(), 0u);
}

TEST_F(EmbeddingCacheTest, BadRequestsGetInvalidArgument) {
  Process a = startCache("cache-a", {"--max-inputs", "3", "--max-text-bytes", "16"});
  CallOptions o;
  o.model = "m";
  auto call = [&](const json& body) {
    return client_->call("embeddings", "embed", packJsonValue(body), o).status;
  };
  EXPECT_EQ(call({{"model", "m"}, {"inputs", {"a", "b", "c", "d"}}}).code,
            proto::ErrorCode::kInvalidArgument);
  EXPECT_EQ(call({{"model", "m"}, {"inputs", {"a text longer than sixteen bytes"}}}).code,
            proto::ErrorCode::kInvalidArgument);
  EXPECT_EQ(call({{"model", "m"}, {"inputs", {""}}}).code, proto::ErrorCode::kInvalidArgument);
  EXPECT_EQ(call({{"model", "m"}, {"inputs", json::array()}}).code,
            proto::ErrorCode::kInvalidArgument);
  EXPECT_EQ(call({{"model", "m"}, {"inputs", {1, 2}}}).code, proto::ErrorCode::kInvalidArgument);
  EXPECT_TRUE(call({{"model", "m"}, {"inputs", {"fine"}}}).ok());
}

TEST_F(EmbeddingCacheTest, RedisTtlIsSetAndRefreshedByAHit) {
  Process a = startCache("cache-a", {"--redis-ttl-s", "3600"});
  ASSERT_TRUE(embed({"kept a while"}, "cache-a").status.ok());
  std::string key = embedding::valueKey("sbe:", digestOf("kept a while"));
  ASSERT_TRUE(waitUntil([&] { return redis_.command({"EXISTS", key}) == "1"; }, 5s));
  int64_t ttl = std::stoll(redis_.command({"TTL", key}));
  EXPECT_GT(ttl, 3500);
  EXPECT_LE(ttl, 3600);
  redis_.command({"EXPIRE", key, "60"});
  // A hit in Redis (this instance has no memory tier) sets the full TTL again.
  Process b = startCache("cache-b", {"--redis-ttl-s", "3600", "--memory-mb", "0"});
  Answer hit = embed({"kept a while"}, "cache-b");
  ASSERT_TRUE(hit.status.ok());
  EXPECT_EQ(hit.sources, (std::vector<std::string>{"redis"}));
  EXPECT_GT(std::stoll(redis_.command({"TTL", key})), 3500);
}

TEST(EmbeddingCacheCluster, KeysSpreadOverEveryMasterAndInstancesShareThem) {
  RedisCluster cluster(3, 0);
  Bus bus;
  FakeEmbedder backend;
  std::vector<std::string> args{"--router", bus.backend(), "--embed-backend",
                                "kind=openai,url=" + backend.base()};
  for (const auto& url : cluster.seedUrls()) {
    args.push_back("--cluster");
    args.push_back(url);
  }
  auto start = [&](const std::string& name) {
    std::vector<std::string> all = args;
    all.insert(all.end(), {"--name", name});
    Process p = Process::start("sb-embedding-cache", all);
    if (!p.awaitReady(10s)) throw std::runtime_error(p.log());
    return p;
  };
  Process a = start("cache-a");
  Process b = start("cache-b");
  auto client = bus.client();
  auto call = [&](const std::string& target, const std::vector<std::string>& inputs) {
    CallOptions o;
    o.model = "m";
    o.target = target;
    return decode(client->call("embeddings", "embed", embedBody(inputs), o));
  };
  // Wait until the cache's slot map is complete (it answers without Redis before that).
  ASSERT_TRUE(
      waitUntil([&] { return cacheStatus(*client, "cache-a")["redis"]["ready"] == true; }, 10s));
  std::vector<std::string> texts;
  for (int i = 0; i < 60; ++i) texts.push_back("clustered text " + std::to_string(i));
  Answer first = call("cache-a", texts);
  ASSERT_TRUE(first.status.ok()) << first.status.message;
  ASSERT_TRUE(waitUntil(
      [&] {
        int total = 0;
        for (auto& node : cluster.nodes()) total += std::stoi(node->command({"DBSIZE"}));
        return total == 60;
      },
      5s));
  for (auto& node : cluster.nodes())
    EXPECT_GT(std::stoi(node->command({"DBSIZE"})), 5) << "a master holds almost no keys";
  ASSERT_TRUE(
      waitUntil([&] { return cacheStatus(*client, "cache-b")["redis"]["ready"] == true; }, 10s));
  Answer second = call("cache-b", texts);
  ASSERT_TRUE(second.status.ok()) << second.status.message;
  EXPECT_EQ(second.sources, std::vector<std::string>(60, "redis"));
  EXPECT_EQ(second.vectors, first.vectors);
  EXPECT_EQ(backend.computedTotal(), 60);
}

TEST(EmbeddingCacheHash, TwoProcessesMakeTheSameVectors) {
  Bus bus;
  std::vector<Process> caches;
  for (const char* name : {"hash-a", "hash-b"}) {
    caches.push_back(Process::start("sb-embedding-cache",
                                    {"--router", bus.backend(), "--name", name, "--no-redis"}));
    ASSERT_TRUE(caches.back().awaitReady(10s));
  }
  auto client = bus.client();
  std::vector<Answer> got;
  for (const char* name : {"hash-a", "hash-b"}) {
    CallOptions o;
    o.model = "any-model";
    o.target = name;
    got.push_back(decode(client->call(
        "embeddings", "embed", embedBody({"Deterministic across processes"}, "any-model"), o)));
    ASSERT_TRUE(got.back().status.ok()) << got.back().status.message;
  }
  EXPECT_EQ(got[0].vectors, got[1].vectors);
  EXPECT_EQ(got[0].vectors[0].size(), 384u);
}

}  // namespace
}  // namespace sb::test
