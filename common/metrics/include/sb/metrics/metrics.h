#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace sb {

using Labels = std::vector<std::pair<std::string, std::string>>;

class Counter {
 public:
  void inc(double v = 1) { value_ += v; }
  // For a count kept elsewhere (a plain struct on the hot path), copied in at scrape time.
  // `total` never decreases.
  void mirror(double total) { value_ = total; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class Gauge {
 public:
  void set(double v) { value_ = v; }
  void inc(double v = 1) { value_ += v; }
  void dec(double v = 1) { value_ -= v; }
  double value() const { return value_; }

 private:
  double value_ = 0;
};

class Histogram {
 public:
  explicit Histogram(std::vector<double> bounds);
  void observe(double v);
  const std::vector<double>& bounds() const { return bounds_; }
  const std::vector<uint64_t>& counts() const { return counts_; }  // per bucket, not cumulative
  double sum() const { return sum_; }
  uint64_t count() const { return count_; }

 private:
  std::vector<double> bounds_;
  std::vector<uint64_t> counts_;  // bounds_.size() + 1 (the last is +Inf)
  double sum_ = 0;
  uint64_t count_ = 0;
};

// A single-threaded registry of metric families, rendered in the Prometheus text exposition
// format (version 0.0.4). References returned stay valid until the series is removed.
class MetricsRegistry {
 public:
  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& bounds, const Labels& labels = {});
  // Drops every series of every family whose labels include `key`="`value`" (a worker that left).
  void removeSeriesWith(const std::string& key, const std::string& value);
  std::string render() const;

  static std::vector<double> latencyBuckets();  // seconds, 1 ms .. 60 s

 private:
  enum class Type { kCounter, kGauge, kHistogram };
  struct Series {
    Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };
  struct Family {
    std::string help;
    Type type;
    std::map<std::string, Series> series;  // keyed by rendered labels
  };
  Series& series(const std::string& name, const std::string& help, Type type, const Labels& labels);

  std::map<std::string, Family> families_;
};

}  // namespace sb
