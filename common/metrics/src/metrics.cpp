#include "sb/metrics/metrics.h"

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <stdexcept>
#include <variant>

namespace sb {

void Counter::inc(double v) { c_->Increment(v); }
void Counter::mirror(double total) {
  double now = c_->Value();
  if (total > now) c_->Increment(total - now);
}
double Counter::value() const { return c_->Value(); }

void Gauge::set(double v) { g_->Set(v); }
void Gauge::inc(double v) { g_->Increment(v); }
void Gauge::dec(double v) { g_->Decrement(v); }
double Gauge::value() const { return g_->Value(); }

void Histogram::observe(double v) { h_->Observe(v); }

namespace {

prometheus::Labels toMap(const Labels& labels) { return {labels.begin(), labels.end()}; }

// The text format escapes backslash and newline in HELP. prometheus-cpp 1.0.1 (Debian 12)
// escapes label values but writes HELP as given, so it is handed over escaped.
std::string escapeHelp(const std::string& help) {
  std::string out;
  out.reserve(help.size());
  for (char c : help) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else
      out += c;
  }
  return out;
}

}  // namespace

struct MetricsRegistry::Impl {
  using AnyFamily =
      std::variant<prometheus::Family<prometheus::Counter>*, prometheus::Family<prometheus::Gauge>*,
                   prometheus::Family<prometheus::Histogram>*>;
  // Our handle on one series, by family name and labels.
  struct Series {
    prometheus::Labels labels;
    std::unique_ptr<Counter> counter;
    std::unique_ptr<Gauge> gauge;
    std::unique_ptr<Histogram> histogram;
  };

  prometheus::Registry registry;
  std::map<std::string, AnyFamily> families;
  std::map<std::pair<std::string, prometheus::Labels>, Series> series;

  template <typename T, typename Build>
  prometheus::Family<T>& family(const std::string& name, const std::string& help, Build build) {
    auto it = families.find(name);
    if (it == families.end()) {
      auto& f = build().Name(name).Help(escapeHelp(help)).Register(registry);
      it = families.emplace(name, &f).first;
    }
    auto* f = std::get_if<prometheus::Family<T>*>(&it->second);
    if (!f) throw std::logic_error("metric " + name + " registered with two types");
    return **f;
  }
};

MetricsRegistry::MetricsRegistry() : impl_(std::make_unique<Impl>()) {}
MetricsRegistry::~MetricsRegistry() = default;

Counter& MetricsRegistry::counter(const std::string& name, const std::string& help,
                                  const Labels& labels) {
  auto& f =
      impl_->family<prometheus::Counter>(name, help, [] { return prometheus::BuildCounter(); });
  prometheus::Labels l = toMap(labels);
  Impl::Series& s = impl_->series[{name, l}];
  if (!s.counter) {
    s.labels = l;
    s.counter.reset(new Counter(&f.Add(l)));
  }
  return *s.counter;
}

Gauge& MetricsRegistry::gauge(const std::string& name, const std::string& help,
                              const Labels& labels) {
  auto& f = impl_->family<prometheus::Gauge>(name, help, [] { return prometheus::BuildGauge(); });
  prometheus::Labels l = toMap(labels);
  Impl::Series& s = impl_->series[{name, l}];
  if (!s.gauge) {
    s.labels = l;
    s.gauge.reset(new Gauge(&f.Add(l)));
  }
  return *s.gauge;
}

Histogram& MetricsRegistry::histogram(const std::string& name, const std::string& help,
                                      const std::vector<double>& bounds, const Labels& labels) {
  auto& f =
      impl_->family<prometheus::Histogram>(name, help, [] { return prometheus::BuildHistogram(); });
  prometheus::Labels l = toMap(labels);
  Impl::Series& s = impl_->series[{name, l}];
  if (!s.histogram) {
    s.labels = l;
    s.histogram.reset(new Histogram(&f.Add(l, bounds)));
  }
  return *s.histogram;
}

void MetricsRegistry::removeSeriesWith(const std::string& key, const std::string& value) {
  for (auto it = impl_->series.begin(); it != impl_->series.end();) {
    auto label = it->second.labels.find(key);
    if (label == it->second.labels.end() || label->second != value) {
      ++it;
      continue;
    }
    auto& family = impl_->families.at(it->first.first);
    if (it->second.counter) std::get<0>(family)->Remove(it->second.counter->c_);
    if (it->second.gauge) std::get<1>(family)->Remove(it->second.gauge->g_);
    if (it->second.histogram) std::get<2>(family)->Remove(it->second.histogram->h_);
    it = impl_->series.erase(it);
  }
}

std::string MetricsRegistry::render() const {
  return prometheus::TextSerializer().Serialize(impl_->registry.Collect());
}

std::vector<double> MetricsRegistry::latencyBuckets() {
  return {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};
}

}  // namespace sb
