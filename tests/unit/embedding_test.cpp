// The embedding cache's pure parts: the hash embedder, cache keys, the stored-value codec,
// the backend answer parser, the batching pool and the single flight (on simulated time,
// with a scripted backend; no sockets).
#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "backend_pool.h"
#include "cache_key.h"
#include "cached_vector.h"
#include "embed_cache.h"
#include "hash_embedder.h"
#include "openai_embed_backend.h"
#include "redis_tier.h"
#include "sb/core/event_loop.h"

namespace sb::embedding {
namespace {

using namespace std::chrono_literals;

double cosine(const std::vector<float>& a, const std::vector<float>& b) {
  double dot = 0, na = 0, nb = 0;
  for (size_t i = 0; i < a.size(); ++i) {
    dot += double{a[i]} * b[i];
    na += double{a[i]} * a[i];
    nb += double{b[i]} * b[i];
  }
  return dot / std::sqrt(na * nb);
}

TEST(HashEmbedder, DeterministicAndNormalised) {
  HashEmbedderOptions o;
  for (const char* text : {"hello world", "Ünïcödé text", "!!!", "a", "x y z 1 2 3"}) {
    Embedding a = hashEmbed(text, 0, o), b = hashEmbed(text, 0, o);
    EXPECT_EQ(a.values, b.values) << text;
    ASSERT_EQ(a.values.size(), 384u);
    double norm = 0;
    for (float x : a.values) norm += double{x} * x;
    EXPECT_NEAR(norm, 1.0, 1e-5) << text;
  }
  EXPECT_EQ(hashEmbed("some text", 64, o).values.size(), 64u);
  EXPECT_EQ(hashEmbed("Hello, World", 0, o).values, hashEmbed("hello world", 0, o).values);
  EXPECT_EQ(hashEmbed("three word text", 0, o).tokens, 3u);
}

TEST(HashEmbedder, SimilarTextsScoreCloserThanUnrelatedOnes) {
  HashEmbedderOptions o;
  auto v = [&](const char* t) { return hashEmbed(t, 0, o).values; };
  struct Case {
    const char *text, *similar, *unrelated;
  };
  for (const Case& c : {
           Case{"How do I reset my password?", "how can I reset the password",
                "Best pizza places in Naples"},
           Case{"The cat sat on the mat", "a cat was sitting on a mat",
                "Quarterly revenue grew by four percent"},
           Case{"install redis on debian", "installing Redis on Debian 12",
                "the weather in Oslo tomorrow"},
       }) {
    double near = cosine(v(c.text), v(c.similar)), far = cosine(v(c.text), v(c.unrelated));
    EXPECT_GT(near, far + 0.2) << c.text << ": " << near << " vs " << far;
  }
}

TEST(CacheKey, EveryFieldChangesTheDigestAndFieldsCannotRunTogether) {
  Digest base = cacheDigest({"m", 0, "o"}, "text");
  EXPECT_EQ(base, cacheDigest({"m", 0, "o"}, "text"));
  EXPECT_NE(base, cacheDigest({"m2", 0, "o"}, "text"));
  EXPECT_NE(base, cacheDigest({"m", 8, "o"}, "text"));
  EXPECT_NE(base, cacheDigest({"m", 0, "o2"}, "text"));
  EXPECT_NE(base, cacheDigest({"m", 0, "o"}, "text2"));
  // Without length prefixes these would hash the same bytes.
  EXPECT_NE(cacheDigest({"ab", 0, "c"}, "d"), cacheDigest({"a", 0, "bc"}, "d"));
  EXPECT_NE(cacheDigest({"m", 0, "o"}, "xy"), cacheDigest({"m", 0, "ox"}, "y"));
  std::string key = valueKey("sbe:", base);
  EXPECT_EQ(key, "sbe:{" + toHex(base) + "}");
  EXPECT_EQ(leaseKey("sbe:", base), key + ":lease");
  EXPECT_EQ(toHex(base).size(), 64u);
}

TEST(CachedVector, RoundTripsAndRefusesAnythingElse) {
  Digest key = cacheDigest({"m", 0, "o"}, "t");
  Embedding e{{0.5f, -0.25f, 0.125f}, 7};
  std::string bytes = encodeCachedVector(key, e);
  std::string why;
  EmbeddingPtr back = decodeCachedVector(bytes, key, 3, why);
  ASSERT_TRUE(back) << why;
  EXPECT_EQ(back->values, e.values);
  EXPECT_EQ(back->tokens, 7u);
  EXPECT_TRUE(decodeCachedVector(bytes, key, 0, why));
  auto refused = [&](std::string_view b, const Digest& k, uint32_t dim) {
    why.clear();
    bool bad = decodeCachedVector(b, k, dim, why) == nullptr;
    return bad && !why.empty();
  };
  EXPECT_TRUE(refused(bytes, key, 4));                                  // wrong dimension
  EXPECT_TRUE(refused(bytes, cacheDigest({"m", 0, "o"}, "other"), 3));  // another key's
  EXPECT_TRUE(refused(bytes.substr(0, bytes.size() - 1), key, 0));      // truncated
  EXPECT_TRUE(refused(bytes + "x", key, 0));                            // too long
  EXPECT_TRUE(refused("", key, 0));
  for (size_t i = 0; i < bytes.size(); ++i) {  // any one flipped bit
    std::string flipped = bytes;
    flipped[i] = static_cast<char>(flipped[i] ^ 0x10);
    EXPECT_TRUE(refused(flipped, key, 0)) << "byte " << i;
  }
  Embedding nan{{0.5f, std::nanf("")}, 1};
  EXPECT_TRUE(refused(encodeCachedVector(key, nan), key, 0));
}

TEST(EmbeddingsAnswer, PutsVectorsInInputOrderAndSharesTokens) {
  EmbedBatch batch{"m", 0, {"aaaa", "bbbbbbbbbbbb"}};
  EmbedResult r = parseEmbeddingsAnswer(
      R"({"data":[{"index":1,"embedding":[3,4]},{"index":0,"embedding":[1,2]}],
          "usage":{"prompt_tokens":8}})",
      batch);
  ASSERT_TRUE(r.status.ok()) << r.status.message;
  EXPECT_EQ(r.vectors[0].values, (std::vector<float>{1, 2}));
  EXPECT_EQ(r.vectors[1].values, (std::vector<float>{3, 4}));
  EXPECT_EQ(r.vectors[0].tokens, 2u);
  EXPECT_EQ(r.vectors[1].tokens, 6u);
  for (const char* bad :
       {R"({"data":[{"embedding":[1,2]}]})",
        R"({"data":[{"index":0,"embedding":[1,2]},{"index":0,"embedding":[1,2]}]})",
        R"({"data":[{"index":0,"embedding":[1,2]},{"index":1,"embedding":[1]}]})",
        R"({"data":[{"index":0,"embedding":[1,"x"]},{"index":1,"embedding":[1,2]}]})",
        "not json"}) {
    EXPECT_EQ(parseEmbeddingsAnswer(bad, batch).status.code, proto::ErrorCode::kUnavailable) << bad;
  }
  batch.dimensions = 3;
  EXPECT_FALSE(parseEmbeddingsAnswer(R"({"data":[{"embedding":[1,2]},{"embedding":[3,4]}]})", batch)
                   .status.ok());
}

// A backend the test answers by hand: it records each call and answers when told.
class ScriptedBackend : public EmbedBackend {
 public:
  struct Pending {
    EmbedBatch batch;
    Done done;
  };
  std::map<CallId, Pending> calls;
  std::vector<size_t> sizes;
  CallId next = 1;

  CallId embed(const EmbedBatch& batch, Done done) override {
    sizes.push_back(batch.texts.size());
    calls[next] = {batch, std::move(done)};
    return next++;
  }
  void cancel(CallId id) override { calls.erase(id); }
  std::string keyOptions() const override { return "scripted"; }

  // Answers the oldest call: one vector per text, [text length, 1].
  void answer(proto::Status st = {}) {
    auto node = calls.extract(calls.begin());
    EmbedResult r;
    r.status = st;
    if (st.ok()) {
      for (const auto& t : node.mapped().batch.texts)
        r.vectors.push_back({{static_cast<float>(t.size()), 1.0f}, 1});
    }
    node.mapped().done(std::move(r));
  }
};

class PoolTest : public ::testing::Test {
 protected:
  ManualClock clock_;
  SeededRandom random_{7};
  EventLoop loop_{clock_, random_};
  PoolOptions options_ = [] {
    PoolOptions o;
    o.max_batch = 4;
    o.window = Millis(10);
    return o;
  }();
  std::unique_ptr<BackendPool> pool_;
  std::vector<ScriptedBackend*> backends_;
  std::vector<std::pair<proto::Status, Embedding>> results_;

  void build(size_t n, uint32_t max_conns = 1) {
    pool_ = std::make_unique<BackendPool>(loop_, options_);
    for (size_t i = 0; i < n; ++i) {
      auto b = std::make_unique<ScriptedBackend>();
      backends_.push_back(b.get());
      pool_->add({"b" + std::to_string(i), {}, 1, max_conns, false}, std::move(b));
    }
  }
  void compute(const std::string& text) {
    pool_->compute("m", 0, text, [this](const proto::Status& st, Embedding&& e) {
      results_.emplace_back(st, std::move(e));
    });
  }
};

TEST_F(PoolTest, MissesWithinTheWindowShareOneCallAndFullBatchesGoAtOnce) {
  build(1, 4);
  compute("a");
  compute("bb");
  loop_.advance(5ms);
  EXPECT_TRUE(backends_[0]->sizes.empty());  // still inside the window
  compute("ccc");
  loop_.advance(5ms);
  EXPECT_EQ(backends_[0]->sizes, (std::vector<size_t>{3}));
  for (int i = 0; i < 9; ++i) compute("t" + std::to_string(i));
  // Two full batches at once; the last text waits for its window.
  EXPECT_EQ(backends_[0]->sizes, (std::vector<size_t>{3, 4, 4}));
  loop_.advance(10ms);
  EXPECT_EQ(backends_[0]->sizes, (std::vector<size_t>{3, 4, 4, 1}));
  backends_[0]->answer();
  ASSERT_EQ(results_.size(), 3u);
  EXPECT_EQ(results_[1].second.values[0], 2.0f);  // "bb"
}

TEST_F(PoolTest, TextsQueueWhileEveryBackendIsBusyAndGoInFullerBatches) {
  build(1, 1);
  compute("first");
  loop_.advance(10ms);
  for (int i = 0; i < 3; ++i) compute("later" + std::to_string(i));
  loop_.advance(10ms);
  EXPECT_EQ(backends_[0]->sizes, (std::vector<size_t>{1}));
  EXPECT_EQ(pool_->queued(), 3u);
  backends_[0]->answer();
  EXPECT_EQ(backends_[0]->sizes, (std::vector<size_t>{1, 3}));
  backends_[0]->answer();
  EXPECT_EQ(results_.size(), 4u);
}

TEST_F(PoolTest, UnavailableIsTriedOnAnotherBackendInvalidArgumentIsNot) {
  build(2, 1);
  compute("x");
  loop_.advance(10ms);
  ScriptedBackend* first = backends_[0]->calls.empty() ? backends_[1] : backends_[0];
  ScriptedBackend* second = first == backends_[0] ? backends_[1] : backends_[0];
  first->answer(proto::Status::error(proto::ErrorCode::kUnavailable, "down"));
  ASSERT_EQ(second->calls.size(), 1u);
  second->answer();
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_TRUE(results_[0].first.ok());
  compute("y");
  loop_.advance(10ms);
  ScriptedBackend* busy = backends_[0]->calls.empty() ? backends_[1] : backends_[0];
  busy->answer(proto::Status::error(proto::ErrorCode::kInvalidArgument, "too long"));
  EXPECT_EQ(backends_[0]->calls.size() + backends_[1]->calls.size(), 0u);
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_EQ(results_[1].first.code, proto::ErrorCode::kInvalidArgument);
}

TEST_F(PoolTest, ACallThatNeverAnswersTimesOut) {
  options_.timeout = Millis(1000);
  options_.max_tries = 1;
  build(1, 1);
  compute("x");
  loop_.advance(10ms);
  loop_.advance(1000ms);
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].first.code, proto::ErrorCode::kUnavailable);
  EXPECT_TRUE(backends_[0]->calls.empty());  // cancelled
}

TEST_F(PoolTest, ABackendCoolingDownStillTakesWorkWhenItIsTheOnlyOne) {
  options_.max_tries = 1;
  options_.failure = FailurePolicy{1, std::chrono::seconds(10)};
  build(1, 1);
  compute("x");
  loop_.advance(10ms);
  backends_[0]->answer(proto::Status::error(proto::ErrorCode::kUnavailable, "down"));
  ASSERT_EQ(results_.size(), 1u);
  // Cooling down, but nothing else serves the model: the next batch still goes to it instead
  // of waiting for a backend that would never come.
  compute("y");
  loop_.advance(10ms);
  ASSERT_EQ(backends_[0]->calls.size(), 1u);
  backends_[0]->answer();
  ASSERT_EQ(results_.size(), 2u);
  EXPECT_TRUE(results_[1].first.ok());
}

TEST_F(PoolTest, AModelNoBackendServesFailsWithNotFound) {
  pool_ = std::make_unique<BackendPool>(loop_, options_);
  auto b = std::make_unique<ScriptedBackend>();
  pool_->add({"only-a", {"a"}, 1, 1, false}, std::move(b));
  pool_->compute("b", 0, "text", [this](const proto::Status& st, Embedding&& e) {
    results_.emplace_back(st, std::move(e));
  });
  loop_.advance(10ms);
  ASSERT_EQ(results_.size(), 1u);
  EXPECT_EQ(results_[0].first.code, proto::ErrorCode::kNotFound);
}

TEST_F(PoolTest, SingleFlightWithoutRedisComputesEachDigestOnceAndNeverCachesAFailure) {
  build(1, 4);
  RedisTier tier(loop_, nullptr, {});
  CacheOptions co;
  co.memory_bytes = 1 << 20;
  EmbedCache cache(loop_, tier, *pool_, co);
  KeySpace space{"m", 0, "scripted"};
  Digest d = cacheDigest(space, "same");
  int answered = 0;
  for (int i = 0; i < 10; ++i) {
    cache.fetch(space, d, "same", [&](const proto::Status& st, const EmbeddingPtr& e, Source s) {
      EXPECT_TRUE(st.ok());
      EXPECT_EQ(e->values[0], 4.0f);
      EXPECT_EQ(s, Source::kComputed);
      ++answered;
    });
  }
  EXPECT_EQ(answered, 0);  // never from inside fetch
  loop_.advance(10ms);
  EXPECT_EQ(backends_[0]->sizes, (std::vector<size_t>{1}));
  backends_[0]->answer();
  EXPECT_EQ(answered, 10);
  EXPECT_EQ(cache.counters().joined, 9u);
  ASSERT_TRUE(cache.fromMemory(d));

  Digest f = cacheDigest(space, "fails");
  proto::Status got;
  cache.fetch(space, f, "fails",
              [&](const proto::Status& st, const EmbeddingPtr&, Source) { got = st; });
  loop_.advance(10ms);
  backends_[0]->answer(proto::Status::error(proto::ErrorCode::kUnavailable, "down"));
  EXPECT_EQ(got.code, proto::ErrorCode::kUnavailable);
  EXPECT_FALSE(cache.fromMemory(f));
  cache.fetch(space, f, "fails",
              [&](const proto::Status& st, const EmbeddingPtr&, Source) { got = st; });
  loop_.advance(10ms);
  ASSERT_EQ(backends_[0]->calls.size(), 1u);  // computed again, not answered from a cache
  backends_[0]->answer();
  EXPECT_TRUE(got.ok());
}

TEST_F(PoolTest, AWaiterThatLeavesDoesNotStopTheComputation) {
  build(1, 4);
  RedisTier tier(loop_, nullptr, {});
  EmbedCache cache(loop_, tier, *pool_, {});
  KeySpace space{"m", 0, "scripted"};
  Digest d = cacheDigest(space, "kept");
  {
    // The waiter's owner is gone by the time the answer comes: its callback holds nothing.
    auto owner = std::make_shared<int>(1);
    cache.fetch(space, d, "kept",
                [w = std::weak_ptr<int>(owner)](const proto::Status&, const EmbeddingPtr&, Source) {
                  EXPECT_FALSE(w.lock());
                });
  }
  loop_.advance(10ms);
  backends_[0]->answer();
  EXPECT_TRUE(cache.fromMemory(d));
}

}  // namespace
}  // namespace sb::embedding
