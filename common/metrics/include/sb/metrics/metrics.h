#pragma once

#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace prometheus {
class Counter;
class Gauge;
class Histogram;
class Registry;
}  // namespace prometheus

namespace sb {

using Labels = std::vector<std::pair<std::string, std::string>>;

// The metric types, as thin handles on prometheus-cpp's (Debian's prometheus-cpp core does the
// registry and the text exposition, escaping included). Handles stay valid until their series
// is removed.
class Counter {
 public:
  void inc(double v = 1);
  // For a count kept elsewhere (a plain struct on the hot path), copied in at scrape time.
  // `total` never decreases.
  void mirror(double total);
  double value() const;

 private:
  friend class MetricsRegistry;
  explicit Counter(prometheus::Counter* c) : c_(c) {}
  prometheus::Counter* c_;
};

class Gauge {
 public:
  void set(double v);
  void inc(double v = 1);
  void dec(double v = 1);
  double value() const;

 private:
  friend class MetricsRegistry;
  explicit Gauge(prometheus::Gauge* g) : g_(g) {}
  prometheus::Gauge* g_;
};

class Histogram {
 public:
  void observe(double v);

 private:
  friend class MetricsRegistry;
  explicit Histogram(prometheus::Histogram* h) : h_(h) {}
  prometheus::Histogram* h_;
};

// A process's metrics, rendered in the Prometheus text exposition format (0.0.4). Asking for
// a series that exists returns it; a name registered with two types is a programming error
// (std::logic_error, at start-up).
class MetricsRegistry {
 public:
  MetricsRegistry();
  ~MetricsRegistry();
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
  Gauge& gauge(const std::string& name, const std::string& help, const Labels& labels = {});
  Histogram& histogram(const std::string& name, const std::string& help,
                       const std::vector<double>& bounds, const Labels& labels = {});
  // Drops every series of every family whose labels include `key`="`value`" (a worker that left).
  void removeSeriesWith(const std::string& key, const std::string& value);
  std::string render() const;

  static std::vector<double> latencyBuckets();  // seconds, 1 ms .. 60 s

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace sb
