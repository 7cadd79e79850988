// W-TinyLFU against exact LRU, both bounded in bytes, on a Zipf trace of embedding lookups:
// each value is a 384-dim float32 vector plus its key (~1,600 bytes, a little variation). A
// miss is followed by a put (cache-aside). Prints, per byte budget, both hit ratios, the
// difference in points, the static top-N hit ratio (the best any policy can do on an
// independent-reference trace, cold misses aside) and the ns per lookup (+ put on a miss).
//
// Timings are the best of --repeat runs (fresh caches; the hit ratios are identical each time).
//
//   bench_cache_policy [--lookups N] [--keys K] [--skew S] [--seed X] [--repeat R]
#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <numeric>
#include <random>
#include <string>
#include <string_view>
#include <vector>

#include "sb/core/clock.h"
#include "sb/policy/lru_cache.h"
#include "sb/policy/tinylfu_cache.h"
#include "zipf.h"

namespace {

struct Options {
  uint64_t lookups = 1000000;
  uint64_t keys = 100000;
  double skew = 0.99;
  uint64_t seed = 1;
  uint64_t repeat = 3;
};

bool parse(int argc, char** argv, Options& o) {
  for (int i = 1; i < argc; ++i) {
    const char* flag = argv[i];
    if (i + 1 >= argc) return false;
    const char* value = argv[++i];
    if (std::strcmp(flag, "--lookups") == 0) {
      o.lookups = std::strtoull(value, nullptr, 10);
    } else if (std::strcmp(flag, "--keys") == 0) {
      o.keys = std::strtoull(value, nullptr, 10);
    } else if (std::strcmp(flag, "--skew") == 0) {
      o.skew = std::strtod(value, nullptr);
    } else if (std::strcmp(flag, "--seed") == 0) {
      o.seed = std::strtoull(value, nullptr, 10);
    } else if (std::strcmp(flag, "--repeat") == 0) {
      o.repeat = std::strtoull(value, nullptr, 10);
    } else {
      return false;
    }
  }
  return o.lookups > 0 && o.keys > 0 && o.skew >= 0 && o.repeat > 0;
}

struct Key {
  std::string name;
  uint64_t hash;
  size_t weight;
};

struct Workload {
  std::vector<Key> keys;            // by key id
  std::vector<uint32_t> trace;      // key ids in lookup order
  std::vector<double> probability;  // by popularity rank, most popular first
  double mean_weight = 0;
};

Workload makeWorkload(const Options& o) {
  Workload w;
  std::mt19937_64 gen(o.seed);
  std::uniform_int_distribution<int> jitter(-48, 48);
  double total_weight = 0;
  for (uint64_t id = 0; id < o.keys; ++id) {
    std::string name = "emb:" + std::to_string(id);
    uint64_t hash = std::hash<std::string_view>{}(name);
    // Vector + key + ~64 bytes of node and index overhead, +-48 for varied dimensions/metadata.
    auto weight = static_cast<size_t>(int64_t{384 * 4 + 64} + static_cast<int64_t>(name.size()) +
                                      jitter(gen));
    total_weight += static_cast<double>(weight);
    w.keys.push_back(Key{std::move(name), hash, weight});
  }
  w.mean_weight = total_weight / static_cast<double>(o.keys);

  w.trace = sb::bench::zipfTrace(o.keys, o.lookups, o.skew, gen, &w.probability);
  return w;
}

struct Result {
  double hit_ratio;
  double ns_per_op;
};

template <class Cache>
Result run(Cache& cache, const Workload& w) {
  auto start = std::chrono::steady_clock::now();
  for (uint32_t id : w.trace) {
    const Key& k = w.keys[id];
    if (!cache.get(k.name, k.hash)) cache.put(k.name, k.hash, id, k.weight);
  }
  auto elapsed = std::chrono::steady_clock::now() - start;
  const auto& s = cache.stats();
  double ns =
      static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(elapsed).count());
  return Result{static_cast<double>(s.hits) / static_cast<double>(s.hits + s.misses),
                ns / static_cast<double>(w.trace.size())};
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr, "usage: %s [--lookups N] [--keys K] [--skew S] [--seed X] [--repeat R]\n",
                 argv[0]);
    return 2;
  }
  Workload w = makeWorkload(o);
  std::printf("Zipf(%.2f), %llu lookups over %llu keys, seed %llu, mean weight %.0f bytes\n",
              o.skew, static_cast<unsigned long long>(o.lookups),
              static_cast<unsigned long long>(o.keys), static_cast<unsigned long long>(o.seed),
              w.mean_weight);
  std::printf("%-9s %10s %8s %8s %8s %8s %8s %8s %8s\n", "budget", "MiB", "LRU%", "TinyLFU%",
              "diff", "topN%", "LRU ns", "TLFU ns", "TLFU rej");
  for (double percent : {1.0, 5.0, 10.0, 20.0}) {
    size_t entries =
        std::max<size_t>(1, static_cast<size_t>(static_cast<double>(o.keys) * percent / 100));
    auto budget = static_cast<size_t>(static_cast<double>(entries) * w.mean_weight);
    double top_n = 0;
    for (size_t r = 0; r < entries && r < w.probability.size(); ++r) top_n += w.probability[r];

    Result l{0, 1e300}, t{0, 1e300};
    uint64_t rejected = 0;
    for (uint64_t r = 0; r < o.repeat; ++r) {
      sb::LruCache<uint32_t> lru(budget);
      Result lr = run(lru, w);
      l = Result{lr.hit_ratio, std::min(l.ns_per_op, lr.ns_per_op)};
      sb::SeededRandom random(o.seed);
      sb::TinyLfuCache<uint32_t> tiny(budget, entries, random);
      Result tr = run(tiny, w);
      t = Result{tr.hit_ratio, std::min(t.ns_per_op, tr.ns_per_op)};
      rejected = tiny.stats().rejected;
    }

    char label[32];
    std::snprintf(label, sizeof(label), "%g%%%s", percent, percent == 10.0 ? "*" : "");
    std::printf("%-9s %10.1f %8.2f %8.2f %+8.2f %8.2f %8.0f %8.0f %8llu\n", label,
                static_cast<double>(budget) / (1 << 20), 100 * l.hit_ratio, 100 * t.hit_ratio,
                100 * (t.hit_ratio - l.hit_ratio), 100 * top_n, l.ns_per_op, t.ns_per_op,
                static_cast<unsigned long long>(rejected));
  }
  std::printf("budget: share of distinct keys that fits (* = default); topN: static top-N bound\n");
  return 0;
}
